/** Tensor types, f16/bf16 conversions and the reference (de)quantization codecs. */
export * from './GgmlType';
export * from './f16';
export * from './TensorCodec';
export * from './TensorCodecError';
export { dequantizeF32, quantizeF32, dequantizeF16, quantizeF16, dequantizeBf16, quantizeBf16 } from './codecs/FloatCodecs';
export { dequantizeQ8_0, encodeQ8_0Blocks, Q8_0_BLOCK_SIZE, Q8_0_BLOCK_BYTES } from './codecs/Q8_0';
export { dequantizeQ4_K, quantizeQ4_K, Q4_K_BLOCK_SIZE, Q4_K_BLOCK_BYTES } from './codecs/Q4_K';
export { dequantizeQ6_K, quantizeQ6_K, Q6_K_BLOCK_SIZE, Q6_K_BLOCK_BYTES } from './codecs/Q6_K';
export { dequantizeTQ1_0, quantizeTQ1_0, TQ1_0_BLOCK_SIZE, TQ1_0_BLOCK_BYTES } from './codecs/TQ1_0';
export { dequantizeTQ2_0, quantizeTQ2_0, TQ2_0_BLOCK_SIZE, TQ2_0_BLOCK_BYTES } from './codecs/TQ2_0';
export { repackTq1_0AsTq2_0 } from './codecs/TernaryRepack';
export { dequantizeI2_S, dequantizeI2SBlocks, quantizeI2_S, readI2SScale, I2_S_BLOCK_SIZE, I2_S_BLOCK_BYTES } from './codecs/I2_S';
