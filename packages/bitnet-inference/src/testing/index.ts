export * from './engine';
export { firstStop } from './firstStop';
