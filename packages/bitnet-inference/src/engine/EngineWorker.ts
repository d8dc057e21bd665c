/**
 * The model thread: loads the weights and wires its port to a Scheduler over the ForwardPass.
 * Scheduling lives in Scheduler.ts, the messages in protocol.ts. Nothing here runs on the main thread.
 */
import * as os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { pageMemory } from '@bitnet/kernels';
import { ggmlTypeName } from '@bitnet/models';
import { KvPrefixCache } from '../cache/KvPrefixCache';
import { ForwardPass } from '../forward/ForwardPass';
import { GrammarConstraint, GrammarVocabulary } from '../grammar/GrammarConstraint';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { WEIGHTS_ONLY_READ, openWeightsFile } from '../model/openWeightsFile';
import { tokenLogprobs } from '../sampling/Logprobs';
import { Sampler } from '../sampling/Sampler';
import { openKernels } from './kernels';
import type { MainToWorker, WorkerLoadRequest, WorkerToMain } from './protocol';
import { type ForwardModel, PlannedFaults, Scheduler } from './Scheduler';

const port = parentPort!;
let scheduler: Scheduler<KvCache> | undefined;

function send(m: WorkerToMain): void {
  port.postMessage(m);
}

/** Lowers this thread's priority before the kernel pool starts (its threads inherit it on Linux). */
function lowerPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    os.setPriority(Math.min(19, os.getPriority() + nice));
  } catch {
    // not permitted or not supported: run at the inherited priority
  }
}

function load(m: WorkerLoadRequest): void {
  const t0 = performance.now();
  lowerPriority(m.computeNice);
  const opened = openKernels(m.kernels);
  const file = openWeightsFile(m.path, m.kernels.mode, WEIGHTS_ONLY_READ);
  // converted weights in huge pages where the OS grants them; sequences' KV caches (and the prompt
  // cache's arena): pages returned to the OS as each sequence ends, not at the next GC
  const memory = pageMemory(m.kernels.mode);
  let weights;
  try {
    weights = loadBitnetWeights(file, {
      repackTq1_0: m.repackTq1_0,
      outputType: m.outputType,
      kernels: opened.kernels,
      memory,
      onProgress: (done, total) => send({ type: 'load-progress', done, total }),
    });
  } finally {
    file.close();
  }
  // The scheduler samples each step's logits before the next step: one reused logits buffer.
  const fp = new ForwardPass(weights, opened.kernels, { maxChunkTokens: m.maxChunkTokens, reuseLogits: true });
  const forward: ForwardModel<KvCache> = {
    maxChunkTokens: fp.maxChunkTokens,
    newCache: (capacity) => new KvCache(weights.config, capacity, undefined, memory),
    releaseCache: (cache) => cache.release(),
    prefill: (cache, ids, last) => fp.step(cache, ids, last),
    decodeBatch: (caches, lastIds, argmaxOnly, masks) => fp.decodeBatch(caches, lastIds, argmaxOnly, masks),
    stepMany: (parts) => fp.stepMany(parts),
  };
  // The vocabulary's grammar view is built at the first constrained sequence (most servers never need it).
  let vocabulary: GrammarVocabulary | undefined;
  const prefixes = m.promptCacheBytes > 0 ? new KvPrefixCache(weights.config, { bytes: m.promptCacheBytes, memory }) : undefined;
  scheduler = new Scheduler({
    forward,
    sampler: (params) => new Sampler(params, { kernels: opened.kernels }),
    logprobs: (logits, chosen, top) => tokenLogprobs(logits, chosen, top, opened.kernels),
    argmax: (logits) => opened.kernels.argmax(logits),
    prefixes,
    constraint: (req) => {
      if (req.grammar === undefined) return undefined;
      vocabulary ??= GrammarVocabulary.fromFile(m.path);
      return new GrammarConstraint(req.grammar, vocabulary);
    },
    // each sequence's first token and end carry the prompt cache's counters, for the engine's
    // promptCacheStats; its end, the output screen's (outputScreenStats)
    send: (msg) => {
      if (prefixes && (msg.type === 'done' || (msg.type === 'token' && msg.prefillMs !== undefined))) msg = { ...msg, promptCache: prefixes.stats };
      if (weights.outputScreen && msg.type === 'done') msg = { ...msg, outputScreen: fp.screenStats };
      send(msg);
    },
    faults: m.faultInjection ? new PlannedFaults() : undefined,
  });
  send({
    type: 'loaded',
    config: weights.config,
    kernels: opened.backend,
    isa: opened.isa,
    threads: opened.threads,
    weightBytes: weights.bytes,
    mappedWeightBytes: weights.mappedBytes,
    decodeBytesPerToken: weights.decodeBytesPerToken,
    outputType: weights.outputType,
    outputMatrixType: ggmlTypeName(weights.output.type),
    loadMs: performance.now() - t0,
  });
}

port.on('message', (m: MainToWorker) => {
  switch (m.type) {
    case 'load':
      try {
        load(m);
      } catch (e) {
        send({ type: 'load-error', message: (e as Error).message, name: (e as Error).name });
      }
      return;
    case 'start':
      if (!scheduler) return send({ type: 'error', seq: m.seq, message: 'model not loaded', retries: 0 });
      scheduler.start(m);
      return;
    case 'cancel':
      scheduler?.cancel(m.seq);
      return;
    case 'close':
      // in-flight sequences end 'cancelled', then the answer; closing the port lets the thread exit
      scheduler?.close();
      send({ type: 'closed' });
      port.close();
      return;
  }
});
