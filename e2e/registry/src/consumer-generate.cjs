// A consumer's plain Node script (copied into the consumer project by the e2e test): the bundled
// model through the installed @bitnet/inference, generateStream and generate, and which kernels ran.
// Prints one JSON line. Usage: node generate.cjs PROMPT MAX_TOKENS
'use strict';
const { createRequire } = require('node:module');

function resolveFromProject(id) {
  // @bitnet/inference is a direct dependency, or a dependency of @bitnet/server.
  try {
    return require(id);
  } catch {
    return createRequire(require.resolve('@bitnet/server'))(id);
  }
}

async function main() {
  const [prompt = 'In the beginning', maxTokensArg = '24'] = process.argv.slice(2);
  const maxNewTokens = Number(maxTokensArg);
  const { InferenceEngine, defaultModelPath } = resolveFromProject('@bitnet/inference');
  const fromInference = createRequire(resolvePath('@bitnet/inference'));
  const { kernelBackend } = fromInference('@bitnet/kernels');
  const { GgufFile, createTokenizer } = fromInference('@bitnet/models');

  const warnings = [];
  process.on('warning', (w) => warnings.push(`${w.code ?? w.name}: ${w.message}`));

  const engine = await InferenceEngine.load(); // no path: the model bundled with @bitnet/inference
  try {
    const config = { maxNewTokens, temperature: 0, seed: 1 };
    const chunks = [];
    for await (const r of engine.generateStream(prompt, config)) chunks.push({ text: r.text, tokenIds: r.tokenIds, finishReason: r.finishReason });
    const result = await engine.generate(prompt, config);
    const file = GgufFile.open(defaultModelPath());
    let decoded;
    try {
      decoded = createTokenizer(file.metadata).decode(chunks.flatMap((c) => c.tokenIds));
    } finally {
      file.close();
    }
    const backend = kernelBackend();
    process.stdout.write(
      JSON.stringify({
        modelPath: defaultModelPath(),
        streamed: { text: chunks.map((c) => c.text).join(''), tokenIds: chunks.flatMap((c) => c.tokenIds), chunks: chunks.length, finishReason: chunks.at(-1)?.finishReason },
        generated: { text: result.text, tokenIds: result.tokenIds, promptIds: result.promptIds, finishReason: result.finishReason },
        decoded,
        kernels: { name: backend.name, isa: backend.isa, addonPath: backend.addonPath, fallbackReason: backend.fallbackReason },
        warnings,
      }) + '\n',
    );
  } finally {
    await engine.close();
  }
}

function resolvePath(id) {
  try {
    return require.resolve(id);
  } catch {
    return createRequire(require.resolve('@bitnet/server')).resolve(id);
  }
}

main().catch((e) => {
  process.stderr.write(`consumer script failed: ${e && e.stack}\n`);
  process.exitCode = 1;
});
