import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { InferenceEngine, defaultModelPath, hasDefaultModel } from '@bitnet/inference';
import { createApp } from './http/app';
import type { ModelInfo, ServerContext } from './http/common';
import { ServerMetrics } from './http/Metrics';
import { type Logger, createLogger, routeEngineLogs } from './Logger';
import { resolvePromptCacheMb } from './promptCache';
import { DEFAULT_OPTIONS, OptionsError, type ServerOptions } from './ServerOptions';
import { GenerationService } from './stream/GenerationService';
import { MemoryStreamStore } from './stream/MemoryStreamStore';
import { RedisStreamStore } from './stream/RedisStreamStore';
import { ResumableStreams } from './stream/ResumableStreams';
import type { StreamStore } from './stream/StreamStore';

/**
 * The model to serve. THE single place that decides what happens without --model / BITNET_MODEL:
 * the model bundled with @bitnet/inference (defaultModelPath()), or a clear error when it is missing.
 */
export function resolveModelPath(model?: string): string {
  if (model) return path.resolve(model);
  if (hasDefaultModel()) return defaultModelPath();
  throw new OptionsError(`no model to serve: pass --model PATH (or set BITNET_MODEL); the bundled default model ${defaultModelPath()} is missing`);
}

/** A running server: its address, its state and how to stop it. */
export interface BitnetServer {
  readonly url: string;
  readonly port: number;
  readonly context: ServerContext;
  readonly http: http.Server;
  /**
   * Graceful shutdown: stop accepting, end every open stream with its final event (completion_reason
   * server_shutdown), wait for responses to finish (at most shutdownTimeoutMs), close the engine.
   */
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

/** The /health and /v1/models description of the model, from what the engine read at load. */
function describeModel(engine: InferenceEngine): ModelInfo {
  const m = engine.model;
  return {
    id: path.basename(m.path).replace(/\.gguf$/i, ''),
    name: m.name,
    architecture: m.architecture,
    quantization: m.quantization,
    parameters: m.parameters,
    context_length: m.contextLength,
    vocab_size: m.vocabSize,
    file: path.basename(m.path),
  };
}

/** Loads the model (on its worker thread) and listens. */
export async function startServer(partial: Partial<ServerOptions> = {}, logger?: Logger): Promise<BitnetServer> {
  const options: ServerOptions = { ...DEFAULT_OPTIONS, ...partial };
  const log = logger ?? createLogger(options.logLevel);
  const restoreEngineLogs = routeEngineLogs(log);
  const modelPath = resolveModelPath(options.model);
  const t0 = performance.now();
  const promptCache = resolvePromptCacheMb(modelPath, options.promptCacheMb);
  let engine: InferenceEngine;
  try {
    engine = await InferenceEngine.load(modelPath, {
      promptCacheMb: promptCache.mb,
      maxChunkTokens: options.prefillChunk,
      computeNice: options.computeNice,
      outputType: options.outputQ8 ? 'q8_0' : options.outputScreened ? 'screened' : 'exact',
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    });
  } catch (e) {
    restoreEngineLogs();
    throw e;
  }
  const model = describeModel(engine);
  const chatFormat = engine.model.chatFormat ?? 'bitnet';
  log.info(
    {
      path: modelPath,
      arch: model.architecture,
      quant: model.quantization,
      kernels: engine.loadInfo.kernels,
      threads: engine.loadInfo.threads,
      output: engine.loadInfo.outputMatrixType,
      prompt_cache_mb: promptCache.mb,
      ms: Math.round(performance.now() - t0),
    },
    'model loaded',
  );
  const startedAt = Date.now();
  let store: StreamStore;
  if (options.redisUrl) {
    store = await RedisStreamStore.connect(options.redisUrl, {
      onStateChange: (reason) => (reason ? log.warn({ reason }, 'stream store degraded') : log.info('stream store connected to redis')),
    });
  } else {
    store = new MemoryStreamStore();
  }
  let service!: GenerationService;
  const metrics = new ServerMetrics({
    active: () => service.admission.activeCount,
    queued: () => service.admission.queuedCount,
    engineSequences: () => engine.activeSequences,
    decodeBatch: () => engine.schedulingStats,
    uptimeSeconds: () => (Date.now() - startedAt) / 1000,
    storeDegraded: () => (store.degradedReason() ? 1 : 0),
    promptCache: () => engine.promptCacheStats,
  });
  service = new GenerationService(engine, metrics, log, { maxConcurrent: options.maxConcurrent, maxQueue: options.maxQueue });
  const streams = new ResumableStreams(store, service, metrics, log, { leaseMs: options.streamLeaseMs });
  const context: ServerContext = { engine, service, metrics, streams, options, log, model, chatFormat, version: packageVersion(), startedAt, promptCache };
  const app = createApp(context);
  const server = http.createServer(app);
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await engine.close();
    await store.close();
    metrics.stop();
    restoreEngineLogs();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  log.info(
    { url, max_concurrent: options.maxConcurrent, max_queue: options.maxQueue, api_key: options.apiKey ? 'required' : 'none', cors_origins: options.corsOrigins },
    'listening',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      log.info({ active: service.admission.activeCount, queued: service.admission.queuedCount }, 'shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      service.beginShutdown(); // open streams get their final event and end
      server.closeIdleConnections();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, options.shutdownTimeoutMs)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await engine.close();
      await store.close();
      metrics.stop();
      log.info('stopped');
      restoreEngineLogs();
    })());
  return { url, port, context, http: server, close };
}
