/**
 * Streaming example (the seed's `streaming_generation`):
 *   npx nx run bitnet-inference:streaming-generation -c cpu -- --model M --prompt "..." --buffer-size 5 --flush-interval 25ms
 * Text goes to stdout as responses arrive; each token id goes to stderr as `[DEBUG] Token ID: n`.
 * BITNET_LOG=bitnet_inference::streaming=debug enables the engine's own streaming log as well.
 */
import { parseArgs } from 'node:util';
import { InferenceEngine } from '../engine/InferenceEngine';
import { configureLogging, logger } from '../logging/Logger';

function duration(name: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) throw new Error(`--${name} must be a duration such as 25ms or 1s, got '${v}'`);
  return Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, prompt: { type: 'string', default: 'And God said' }, 'buffer-size': { type: 'string', default: '10' },
      'flush-interval': { type: 'string', default: '50ms' }, 'max-tokens': { type: 'string', default: '64' }, temperature: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  configureLogging({ spec: [process.env.BITNET_LOG, 'bitnet_inference::example=debug'].filter(Boolean).join(',') });
  const log = logger('bitnet_inference::example', { plain: true });
  const engine = await InferenceEngine.load(values.model);
  try {
    const stream = engine.generateStreamWithConfig(
      values.prompt!,
      {
        maxNewTokens: Number(values['max-tokens']),
        // left out: the library's SAMPLING_DEFAULTS (and a random seed)
        ...(values.temperature !== undefined ? { temperature: Number(values.temperature) } : {}),
        ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
      },
      { bufferSize: Number(values['buffer-size']), flushIntervalMs: duration('flush-interval', values['flush-interval']!) },
    );
    for await (const response of stream) {
      process.stdout.write(response.text);
      for (const id of response.tokenIds) log.debug(`Token ID: ${id}`);
    }
    process.stdout.write('\n');
  } finally {
    await engine.close();
  }
}

main().catch((e) => {
  process.stderr.write(`streaming-generation: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
