/**
 * Typed errors of @bitnet/models. Every error a user can meet when opening a model is one of these,
 * with a stable `code` to branch on and a message that names what is wrong.
 */
export class BitnetModelError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Codes of malformed-file errors. */
export type GgufErrorCode =
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'TRUNCATED'
  | 'BAD_VALUE_TYPE'
  | 'BAD_COUNT'
  | 'BAD_STRING'
  | 'BAD_TENSOR_INFO'
  | 'BAD_ALIGNMENT'
  | 'BAD_OFFSET'
  | 'OVERLAPPING_TENSORS'
  | 'DUPLICATE_KEY'
  | 'DUPLICATE_TENSOR'
  | 'IO_ERROR';

/** The file is not a well-formed GGUF file. `offset` is the byte position where the problem was found. */
export class GgufFormatError extends BitnetModelError {
  readonly offset: number | undefined;
  constructor(code: GgufErrorCode, message: string, offset?: number, options?: { cause?: unknown }) {
    super(code, offset === undefined ? message : `${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

/** A tensor uses a ggml type this project does not implement (TL1, TL2, IQ*, ...). */
export class UnsupportedTensorTypeError extends BitnetModelError {
  constructor(
    readonly tensorName: string,
    readonly typeId: number,
    readonly typeName: string,
  ) {
    super('UNSUPPORTED_TENSOR_TYPE', `tensor '${tensorName}' has type ${typeName} (id ${typeId}), which bitnet-ts does not support`);
  }
}

/** The metadata or tensors do not describe a model this project can run. */
export class ModelConfigError extends BitnetModelError {
  constructor(message: string, readonly key?: string) {
    super('BAD_MODEL_CONFIG', message);
  }
}

/** A metadata key is missing or has the wrong type. */
export class MetadataError extends BitnetModelError {
  constructor(message: string, readonly key: string) {
    super('BAD_METADATA', message);
  }
}

/** The tokenizer metadata is missing, inconsistent, or an input cannot be tokenized. */
export class TokenizerError extends BitnetModelError {
  constructor(message: string) {
    super('BAD_TOKENIZER', message);
  }
}
