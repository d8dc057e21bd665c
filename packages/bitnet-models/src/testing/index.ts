/**
 * Test support shared by every package's specs (`@bitnet/models/testing`, mapped by jest and the
 * TS paths to this folder; not part of the published package).
 */
export { runLlamaCpp, llamaCppTokenize, ORACLE_SCRIPT } from './llamaCppOracle';
export { tokenizerCorpus } from './tokenizerCorpus';
export { llama3Metadata } from './llama3Vocab';
export { rng, cosine } from './uniform';
