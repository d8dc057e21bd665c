export { summarizeModel, type ModelSummary } from './model/ModelSummary';
