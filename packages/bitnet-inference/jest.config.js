// Unit tests plus the cross-validation against llama.cpp (src/**/*.crossval.ts: 4 LLaMA-3-vocabulary
// models × 10 prompts × 64 greedy tokens, bit-exact logits). `npx nx run bitnet-inference:crossval`
// runs the cross-validation alone.
const base = require('../../jest.preset.js').projectConfig(__dirname, 'bitnet-inference');
module.exports = { ...base, testMatch: [...base.testMatch, '<rootDir>/src/**/*.crossval.ts'] };
