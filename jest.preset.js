// Shared jest setup for every package.
//
// Kernel mode: BITNET_KERNELS (native | ts | auto) picks the kernels the tests run on. The Nx test
// target's configurations set it (tools/executors/jest): `-c cpu` -> native (required, fails loudly
// when the addon is missing), `-c ts` -> TypeScript forced, none -> auto. Jest workers inherit it.
const path = require('node:path');

function projectConfig(projectDir, displayName) {
  const mode = process.env.BITNET_KERNELS || 'auto';
  process.env.BITNET_KERNELS = mode;
  const root = __dirname;
  return {
    displayName: `${displayName} [kernels=${mode}]`,
    rootDir: projectDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.spec.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(projectDir, 'tsconfig.spec.json') }],
    },
    moduleFileExtensions: ['ts', 'js', 'json'],
    moduleNameMapper: {
      '^@bitnet/(models|kernels|inference)/testing$': path.join(root, 'packages/bitnet-$1/src/testing/index.ts'),
      '^@bitnet/(models|kernels|inference|server|client)$': path.join(root, 'packages/bitnet-$1/src/index.ts'),
    },
    testTimeout: 120000,
  };
}

module.exports = { projectConfig };
