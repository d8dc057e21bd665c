#!/usr/bin/env node
// Streams a generation through the library and prints every token with its id and position.
//   node examples/stream-with-ids.js [MODEL.gguf] [PROMPT]
// Without MODEL, the model bundled with @bitnet/inference is used.
'use strict';
const { InferenceEngine } = require('@bitnet/inference');

async function run() {
  const [modelPath, prompt = 'In the beginning God created'] = process.argv.slice(2);
  const maxNewTokens = Number(process.env.MAX_TOKENS ?? 16);
  const engine = await InferenceEngine.load(modelPath || undefined);
  try {
    const stream = engine.generateStream(prompt, { maxNewTokens, temperature: 0 });
    let position = stream.promptIds.length;
    for await (const response of stream) {
      // each piece is one generated token: its id and its share of the text
      for (const piece of response.pieces) {
        console.log(`${String(position++).padStart(4)}  id ${String(piece.id).padStart(6)}  ${JSON.stringify(piece.text)}`);
      }
      if (response.finishReason) console.log(`finish: ${response.finishReason}`);
    }
    const t = stream.timings();
    console.log(`${t.generatedTokens} tokens, ${t.decodeTokensPerSecond.toFixed(1)} tokens/s`);
  } finally {
    await engine.close();
  }
}

run().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
