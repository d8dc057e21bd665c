/**
 * The worker thread that owns the model: loads the weights, keeps one KV cache and sampler per
 * sequence and runs their steps round-robin (a prefill chunk or one decode token per step),
 * yielding to its event loop between steps so new requests and cancellations are seen at once.
 * Nothing here runs on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { GgufFile } from '@bitnet/models';
import { createKernels, kernelBackend } from '@bitnet/kernels';
import { ForwardPass } from '../forward/ForwardPass';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { Sampler } from '../sampling/Sampler';
import type { MainToWorker, WorkerStartRequest, WorkerToMain } from './WorkerProtocol';

interface Sequence {
  req: WorkerStartRequest;
  cache: KvCache;
  sampler: Sampler;
  prefilled: number;
  generated: number;
  last: number;
  step: number;
  retries: number;
  failuresInStep: number;
  started: number;
  decodeStart: number;
  pendingFaults: Set<number>;
}

const port = parentPort!;
let forward: ForwardPass | undefined;
const active = new Map<number, Sequence>();
let order: number[] = [];
let cursor = 0;
let looping = false;

function send(m: WorkerToMain): void {
  port.postMessage(m);
}

port.on('message', (m: MainToWorker) => {
  switch (m.type) {
    case 'load': {
      const t0 = performance.now();
      try {
        if (m.kernels) process.env.BITNET_KERNELS = m.kernels;
        const file = GgufFile.open(m.path);
        let weights;
        try {
          weights = loadBitnetWeights(file);
        } finally {
          file.close();
        }
        const kernels = createKernels();
        forward = new ForwardPass(weights, kernels, { maxChunkTokens: m.maxChunkTokens });
        send({ type: 'loaded', config: weights.config, kernels: kernelBackend().name, isa: kernels.isa, weightBytes: weights.bytes, loadMs: performance.now() - t0 });
      } catch (e) {
        send({ type: 'load-error', message: (e as Error).message, name: (e as Error).name });
      }
      return;
    }
    case 'start': {
      if (!forward) return send({ type: 'error', seq: m.seq, message: 'model not loaded', retries: 0 });
      const capacity = m.promptIds.length + m.maxNewTokens;
      const sampler = new Sampler(m.sampling);
      sampler.observe(m.promptIds);
      active.set(m.seq, {
        req: m,
        cache: new KvCache(forward.weights.config, capacity),
        sampler,
        prefilled: 0,
        generated: 0,
        last: -1,
        step: 0,
        retries: 0,
        failuresInStep: 0,
        started: performance.now(),
        decodeStart: 0,
        pendingFaults: new Set(m.failSteps ?? []),
      });
      order.push(m.seq);
      kick();
      return;
    }
    case 'cancel': {
      const s = active.get(m.seq);
      if (s) finish(m.seq, s, 'cancelled');
      return;
    }
    case 'close':
      active.clear();
      order = [];
      send({ type: 'closed' });
      port.close();
      return;
  }
});

function kick(): void {
  if (!looping) {
    looping = true;
    setImmediate(loop);
  }
}

function finish(seq: number, s: Sequence, reason: 'eos' | 'end_of_turn' | 'stop_token' | 'max_tokens' | 'cancelled'): void {
  active.delete(seq);
  order = order.filter((x) => x !== seq);
  send({ type: 'done', seq, reason, decodeMs: s.decodeStart ? performance.now() - s.decodeStart : 0, retries: s.retries });
}

function loop(): void {
  if (order.length === 0 || !forward) {
    looping = false;
    return;
  }
  cursor = cursor % order.length;
  const seq = order[cursor];
  cursor++;
  const s = active.get(seq)!;
  try {
    runStep(seq, s);
    s.failuresInStep = 0;
  } catch (e) {
    s.failuresInStep++;
    s.retries++;
    if (s.failuresInStep > s.req.maxRetries) {
      active.delete(seq);
      order = order.filter((x) => x !== seq);
      send({ type: 'error', seq, message: (e as Error).message, retries: s.retries });
    }
  }
  setImmediate(loop);
}

function runStep(seq: number, s: Sequence): void {
  const fp = forward!;
  const stepNo = s.step;
  if (s.pendingFaults.delete(stepNo)) throw new Error(`injected transient failure at step ${stepNo}`);
  if (s.req.stallSteps?.includes(stepNo)) {
    const until = performance.now() + (s.req.stallMs ?? 0);
    while (performance.now() < until) {
      // test hook: a step that takes too long
    }
  }
  const prompt = s.req.promptIds;
  let logits: Float32Array | undefined;
  let prefillMs: number | undefined;
  if (s.prefilled < prompt.length) {
    const end = Math.min(prompt.length, s.prefilled + fp.maxChunkTokens);
    logits = fp.step(s.cache, prompt.slice(s.prefilled, end), end === prompt.length);
    s.prefilled = end;
    s.step++;
    if (!logits) {
      send({ type: 'progress', seq, done: end, total: prompt.length });
      return;
    }
    prefillMs = performance.now() - s.started;
    s.decodeStart = performance.now();
  } else {
    logits = fp.step(s.cache, [s.last], true)!;
    s.step++;
  }
  const id = s.sampler.sample(logits);
  s.last = id;
  s.generated++;
  send({ type: 'token', seq, id, prefillMs });
  const stop = s.req.stopIds.find(([x]) => x === id);
  if (stop) finish(seq, s, stop[1]);
  else if (s.generated >= s.req.maxNewTokens) finish(seq, s, 'max_tokens');
}
