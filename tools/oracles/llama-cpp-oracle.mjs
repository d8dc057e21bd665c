#!/usr/bin/env node
// Test oracle: runs llama.cpp (through node-llama-cpp's prebuilt CPU binary) on a GGUF file and
// prints JSON. Tests start it as a child process (node-llama-cpp is ESM-only and loads a native
// library; keeping it out of the jest worker keeps both apart). Never used by the product.
//
//   node tools/oracles/llama-cpp-oracle.mjs REQUEST.json
//
// Requests:
//   { "op": "tokenize", "model": "m.gguf", "inputs": ["text", ...], "special": false }
//     -> { "ids": [[...], ...] }
//   { "op": "vocab", "model": "m.gguf", "tokenize": [[text, special], ...], "detokenize": [[ids, special], ...],
//     "eogFrom": 128000, "eogTo": 128256 }
//     -> { "tokenize": [[...]], "detokenize": ["..."], "bos", "eos", "eot", "addBos", "eog": [ids] }   (vocabulary only)
//   { "op": "crossval", "model": "m.gguf", "prompts": [[ids], ...], "maxTokens": 64, "threads": 2 }
//     -> { "runs": [{ "ids": [...], "logits": [vocab floats at the last prompt position] }, ...] }
//   { "op": "generate", "model": "m.gguf", "prompt": [ids], "maxTokens": 8, "threads": 2 }
//     -> { "ids": [...], "vocabSize": n, "arch": "..." }   (greedy, flash attention off)
import { readFileSync } from 'node:fs';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const req = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });
const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0, useMmap: true, vocabOnly: req.op === 'vocab' });
let result;
if (req.op === 'vocab') {
  const eog = [];
  for (let id = req.eogFrom ?? 0; id < (req.eogTo ?? 0); id++) if (model.isEogToken(id)) eog.push(id);
  result = {
    tokenize: (req.tokenize ?? []).map(([text, special]) => Array.from(model.tokenize(text, special))),
    detokenize: (req.detokenize ?? []).map(([ids, special]) => model.detokenize(ids, special)),
    bos: model.tokens.bos,
    eos: model.tokens.eos,
    eot: model.tokens.eot,
    addBos: model.tokens.shouldPrependBosToken,
    eog,
  };
} else if (req.op === 'tokenize') {
  result = { ids: req.inputs.map((s) => Array.from(model.tokenize(s, req.special ?? false))) };
} else if (req.op === 'crossval') {
  const maxPrompt = Math.max(...req.prompts.map((p) => p.length));
  const context = await model.createContext({ contextSize: maxPrompt + (req.maxTokens ?? 64) + 8, threads: req.threads ?? 2, flashAttention: false, batchSize: 512 });
  const sequence = context.getSequence();
  const runs = [];
  for (const prompt of req.prompts) {
    await sequence.clearHistory();
    const input = prompt.map((t, i) => (i === prompt.length - 1 ? [t, { generateNext: { logits: true } }] : t));
    const res = await sequence.controlledEvaluate(input);
    const map = res[prompt.length - 1]?.next?.logits;
    const logits = [];
    for (const [token, value] of map ?? []) logits[token] = value;
    await sequence.clearHistory();
    const ids = [];
    for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
      ids.push(token);
      if (ids.length >= (req.maxTokens ?? 64)) break;
    }
    runs.push({ ids, logits });
  }
  result = { runs };
  await context.dispose();
} else if (req.op === 'generate') {
  const context = await model.createContext({ contextSize: req.contextSize ?? 256, threads: req.threads ?? 2, flashAttention: false, batchSize: 256 });
  const sequence = context.getSequence();
  const ids = [];
  for await (const token of sequence.evaluate(req.prompt, { temperature: 0 })) {
    ids.push(token);
    if (ids.length >= (req.maxTokens ?? 8)) break;
  }
  result = { ids, arch: model.fileInfo.metadata.general.architecture };
  await context.dispose();
} else {
  throw new Error(`unknown op ${req.op}`);
}
await model.dispose();
process.stdout.write(JSON.stringify(result));
