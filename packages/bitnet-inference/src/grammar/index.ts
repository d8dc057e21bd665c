/**
 * The grammar engine for constrained decoding: a GBNF parser ({@link parseGbnf}), an incremental
 * byte-level matcher ({@link GrammarMatcher}, {@link GrammarState}) and per-vocabulary token masks
 * ({@link TokenMask}). Not yet wired into the sampler.
 */
export { parseGbnf, MAX_GBNF_REPETITION, MAX_GBNF_ELEMENTS } from './Gbnf';
export { Grammar } from './Grammar';
export { GrammarError, type GrammarPosition } from './GrammarError';
export { GrammarMatcher, GrammarState, MAX_GRAMMAR_STACKS } from './GrammarMatcher';
export { TokenMask, type TokenMaskResult, type TokenMaskOptions, type MaskTokenizer } from './TokenMask';
