export { buildSyntheticModel, type SyntheticModelOptions, type TernaryQuant } from './SyntheticModel';
export { smallByteVocab, TOKEN_TYPE, type SyntheticVocab } from './SyntheticVocab';
export { llama3Vocab, type Llama3VocabOptions } from './Llama3Vocab';
export { SeededRandom } from './Random';
