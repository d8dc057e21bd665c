/**
 * Test-only access to the engine's fault injection (`@bitnet/inference/testing`). Not part of the
 * public API: production code has no way to make the model thread fail or stall on purpose.
 *
 *   const engine = await loadEngineForTests(path, { maxChunkTokens: 16 });
 *   const stream = generateWithFaults(engine, 'prompt', { maxNewTokens: 8 }, {}, {}, { failSteps: [0, 3] });
 */
import type { GenerationConfig } from '../config/GenerationConfig';
import type { StreamingConfig } from '../config/StreamingConfig';
import { type GenerateOptions, type GenerationResult, type GenerationStream, type Prompt, collectGeneration } from '../engine/Generation';
import { type EngineOptions, InferenceEngine, startGenerationWithFaults } from '../engine/InferenceEngine';
import type { FaultPlan } from '../engine/protocol';

export type { FaultPlan } from '../engine/protocol';
export { PlannedFaults, Scheduler, type FaultInjector, type ForwardModel, type SchedulerOptions, type TokenSampler } from '../engine/Scheduler';

/** InferenceEngine.load whose model thread honours FaultPlans. */
export function loadEngineForTests(modelPath: string | undefined, options: EngineOptions = {}): Promise<InferenceEngine> {
  return InferenceEngine.open(modelPath, options, { faultInjection: true });
}

/** generateStreamWithConfig with faults (a step number fails once, or stalls); needs loadEngineForTests. */
export function generateWithFaults(
  engine: InferenceEngine,
  prompt: Prompt,
  config: Partial<GenerationConfig>,
  streaming: Partial<StreamingConfig>,
  options: GenerateOptions,
  faults: FaultPlan,
): GenerationStream {
  return startGenerationWithFaults(engine, prompt, config, streaming, options, faults);
}

/** engine.generate with faults. */
export function generateToEndWithFaults(engine: InferenceEngine, prompt: Prompt, config: Partial<GenerationConfig>, faults: FaultPlan): Promise<GenerationResult> {
  return collectGeneration(startGenerationWithFaults(engine, prompt, config, { bufferSize: 4096, flushIntervalMs: 60_000, tokenTimeoutMs: 600_000 }, {}, faults));
}
