import { BitnetModelError } from '../errors';

/** Codes of tensor encoding/decoding errors. */
export type TensorCodecErrorCode =
  | 'UNSUPPORTED_TENSOR_TYPE'
  | 'BAD_TENSOR_SHAPE'
  | 'TRUNCATED_TENSOR_DATA'
  | 'BAD_TERNARY_VALUE'
  | 'BAD_ARGUMENT';

/** A tensor cannot be (de)quantized: unknown type, shape not a whole number of blocks, short data. */
export class TensorCodecError extends BitnetModelError {
  constructor(code: TensorCodecErrorCode, message: string) {
    super(code, message);
  }
}
