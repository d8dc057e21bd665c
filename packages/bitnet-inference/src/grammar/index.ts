/**
 * The grammar engine for constrained decoding: a GBNF parser ({@link parseGbnf}), an incremental
 * byte-level matcher ({@link GrammarMatcher}, {@link GrammarState}), per-vocabulary token masks
 * ({@link TokenMask}) and the per-sequence constraint the model thread applies before sampling
 * ({@link GrammarConstraint} over a {@link GrammarVocabulary}; GenerateOptions.grammar / jsonSchema).
 */
export { parseGbnf, MAX_GBNF_REPETITION, MAX_GBNF_ELEMENTS } from './Gbnf';
export { Grammar } from './Grammar';
export { GrammarError, type GrammarPosition } from './GrammarError';
export { GrammarMatcher, GrammarState, MAX_GRAMMAR_STACKS } from './GrammarMatcher';
export { TokenMask, type TokenMaskResult, type TokenMaskOptions, type MaskTokenizer } from './TokenMask';
export { GrammarConstraint, GrammarVocabulary, type GrammarMaskInfo } from './GrammarConstraint';
