import type { ModelConfig } from '@bitnet/models';

/**
 * One sequence's key/value cache: per layer, f16 bits in the kernels' KV layout (@bitnet/kernels
 * `KvShape`: keys [kvHead][position][headDim], values [kvHead][headDim][position]), written by
 * `storeKv` and read by `attention`. Sized for the positions the request can reach, not the whole context.
 */
export class KvCache {
  readonly keys: Uint16Array[];
  readonly values: Uint16Array[];
  /** Positions filled so far. */
  length = 0;

  constructor(
    readonly config: ModelConfig,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > config.contextLength) {
      throw new RangeError(`KV cache capacity ${capacity} must be between 1 and the context length ${config.contextLength}`);
    }
    const perLayer = capacity * config.headCountKv * config.headDim;
    this.keys = Array.from({ length: config.blockCount }, () => new Uint16Array(perLayer));
    this.values = Array.from({ length: config.blockCount }, () => new Uint16Array(perLayer));
  }

  get bytes(): number {
    return 2 * this.keys.length * this.keys[0].byteLength;
  }
}
