export * from './engine';
export { firstStop } from './firstStop';
export { JSON_GBNF, ARITHMETIC_GBNF, LIST_GBNF } from './exampleGrammars';
