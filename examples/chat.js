#!/usr/bin/env node
// A scripted two-turn chat through the library, in the model's chat format (engine.model.chatFormat:
// the model's template, or the plain "User: …\nAssistant:" fallback when its vocabulary lacks the
// template's special tokens).
//   node examples/chat.js [MODEL.gguf]
'use strict';
const { InferenceEngine } = require('@bitnet/inference');
const { applyChatTemplate, chatStopStrings } = require('@bitnet/models');

async function run() {
  const [modelPath] = process.argv.slice(2);
  const maxNewTokens = Number(process.env.MAX_TOKENS ?? 24);
  const engine = await InferenceEngine.load(modelPath || undefined);
  try {
    const format = engine.model.chatFormat;
    console.log(`chat format: ${format}`);
    const messages = [{ role: 'system', content: 'Answer in the words of the scriptures.' }];
    for (const question of ['Who created the heaven and the earth?', 'What did he say first?']) {
      messages.push({ role: 'user', content: question });
      const prompt = applyChatTemplate(messages, format);
      const result = await engine.generate(prompt, { maxNewTokens, temperature: 0, stopSequences: chatStopStrings(format) });
      const answer = result.text.trim();
      console.log(`User: ${question}\nAssistant: ${answer}  [${result.finishReason}, ${result.tokenIds.length} tokens]`);
      messages.push({ role: 'assistant', content: answer });
    }
  } finally {
    await engine.close();
  }
}

run().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
