/**
 * The worker thread that owns the model: loads the weights, keeps one KV cache and sampler per
 * sequence, runs the decode steps of all running sequences as one batched forward pass and the
 * prompts' prefill chunks in between (see `loop`), yielding to its event loop between steps so new
 * requests and cancellations are seen at once.
 * Nothing here runs on the main thread.
 */
import * as os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { GgufFile, ggmlTypeName } from '@bitnet/models';
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
/** Whether the next round runs a prefill chunk (rounds alternate while both kinds of work wait). */
let prefillTurn = false;
/** Where the next decode batch starts when more sequences decode than one batch holds. */
let decodeCursor = 0;

function send(m: WorkerToMain): void {
  port.postMessage(m);
}

port.on('message', (m: MainToWorker) => {
  switch (m.type) {
    case 'load': {
      const t0 = performance.now();
      try {
        if (m.kernels) process.env.BITNET_KERNELS = m.kernels;
        // Lower this thread's scheduling priority before the first kernel call creates the native
        // pool (its threads inherit it on Linux, where nice values are per thread): the process's
        // main thread then wins a core whenever it has work (HTTP, streaming), however busy the model is.
        if (m.computeNice > 0) {
          try {
            os.setPriority(Math.min(19, os.getPriority() + m.computeNice));
          } catch {
            // not permitted or not supported: run at the inherited priority
          }
        }
        const kernels = createKernels();
        const file = GgufFile.open(m.path);
        let weights;
        try {
          weights = loadBitnetWeights(file, { repackTq1_0: m.repackTq1_0, outputType: m.outputType, kernels });
        } finally {
          file.close();
        }
        forward = new ForwardPass(weights, kernels, { maxChunkTokens: m.maxChunkTokens });
        send({
          type: 'loaded',
          config: weights.config,
          kernels: kernelBackend().name,
          isa: kernels.isa,
          weightBytes: weights.bytes,
          outputType: weights.outputType,
          outputMatrixType: ggmlTypeName(weights.output.type),
          loadMs: performance.now() - t0,
        });
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

/**
 * One scheduling round: the decode steps of every sequence past its prompt run as one batched
 * forward pass (continuous batching: a sequence joins once its prompt is in, leaves when it
 * finishes or is cancelled), alternating with one prefill chunk of the next sequence still
 * reading its prompt, so a long prompt neither waits for nor stalls the running streams.
 */
function loop(): void {
  if (order.length === 0 || !forward) {
    looping = false;
    return;
  }
  const decoding: number[] = [];
  const prefilling: number[] = [];
  for (const seq of order) (isDecoding(active.get(seq)!) ? decoding : prefilling).push(seq);
  const runDecode = decoding.length > 0 && (prefillTurn === false || prefilling.length === 0);
  if (runDecode) {
    decodeRound(decoding);
  } else {
    cursor = cursor % prefilling.length;
    const seq = prefilling[cursor++];
    guarded([seq], () => prefillStep(seq, active.get(seq)!));
  }
  prefillTurn = runDecode;
  setImmediate(loop);
}


function isDecoding(s: Sequence): boolean {
  return s.prefilled >= s.req.promptIds.length;
}

/**
 * Runs `work` for these sequences; a throw counts as one failed attempt of each (the step is retried
 * on the next round, up to the request's maxRetries, then the sequence ends with an error).
 */
function guarded(seqs: number[], work: () => void): void {
  try {
    work();
    for (const seq of seqs) {
      const s = active.get(seq);
      if (s) s.failuresInStep = 0;
    }
  } catch (e) {
    for (const seq of seqs) fail(seq, e as Error);
  }
}

function fail(seq: number, e: Error): void {
  const s = active.get(seq);
  if (!s) return;
  s.failuresInStep++;
  s.retries++;
  if (s.failuresInStep > s.req.maxRetries) {
    active.delete(seq);
    order = order.filter((x) => x !== seq);
    send({ type: 'error', seq, message: e.message, retries: s.retries });
  }
}

/** Test hooks of a sequence's next step: an injected failure (thrown) or a stall (busy wait). */
function testHooks(s: Sequence): void {
  const stepNo = s.step;
  if (s.pendingFaults.delete(stepNo)) throw new Error(`injected transient failure at step ${stepNo}`);
  if (s.req.stallSteps?.includes(stepNo)) {
    const until = performance.now() + (s.req.stallMs ?? 0);
    while (performance.now() < until) {
      // test hook: a step that takes too long
    }
  }
}

function prefillStep(seq: number, s: Sequence): void {
  const fp = forward!;
  testHooks(s);
  const prompt = s.req.promptIds;
  const end = Math.min(prompt.length, s.prefilled + fp.maxChunkTokens);
  const logits = fp.step(s.cache, prompt.slice(s.prefilled, end), end === prompt.length);
  s.prefilled = end;
  s.step++;
  if (!logits) {
    send({ type: 'progress', seq, done: end, total: prompt.length });
    return;
  }
  const prefillMs = performance.now() - s.started;
  s.decodeStart = performance.now();
  emit(seq, s, logits, 0, prefillMs);
}

/** One batched decode step for up to maxChunkTokens decoding sequences (rotating when there are more). */
function decodeRound(decoding: number[]): void {
  const fp = forward!;
  const max = fp.maxChunkTokens;
  const first = decodeCursor % decoding.length;
  const picked = decoding.length <= max ? decoding : [...decoding.slice(first), ...decoding.slice(0, first)].slice(0, max);
  decodeCursor = first + picked.length;
  const batch: number[] = [];
  for (const seq of picked) {
    try {
      testHooks(active.get(seq)!);
      batch.push(seq);
    } catch (e) {
      fail(seq, e as Error);
    }
  }
  if (batch.length === 0) return;
  const seqs = batch.map((seq) => active.get(seq)!);
  guarded(batch, () => {
    const logits = fp.decodeBatch(
      seqs.map((s) => s.cache),
      seqs.map((s) => s.last),
    );
    for (let i = 0; i < batch.length; i++) {
      seqs[i].step++;
      emit(batch[i], seqs[i], logits[i], batch.length);
    }
  });
}


/** Samples the next token of a sequence from its logits, reports it and ends the sequence on a stop. */
function emit(seq: number, s: Sequence, logits: Float32Array, batch: number, prefillMs?: number): void {
  const id = s.sampler.sample(logits);
  s.last = id;
  s.generated++;
  send({ type: 'token', seq, id, prefillMs, batch });
  const stop = s.req.stopIds.find(([x]) => x === id);
  if (stop) finish(seq, s, stop[1]);
  else if (s.generated >= s.req.maxNewTokens) finish(seq, s, 'max_tokens');
}
