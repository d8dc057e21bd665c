// Cross-validation against llama.cpp on LLaMA-3-vocabulary models (≈ 9 min on 2 cores):
//   npx nx run bitnet-inference:crossval
const base = require('../../jest.preset.js').projectConfig(__dirname, 'bitnet-inference crossval');
module.exports = { ...base, testMatch: ['<rootDir>/src/**/*.crossval.ts'], testTimeout: 900000 };
