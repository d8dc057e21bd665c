// Shared jest setup for every package.
//
// Kernel mode: the Nx test target's configuration picks which kernels the tests run on.
//   nx test <pkg>          -> auto: native addon when built, TypeScript fallback otherwise
//   nx test <pkg> -c cpu   -> native kernels required (fails loudly when the addon is missing)
//   nx test <pkg> -c ts    -> pure TypeScript kernels forced
// Nx exports the configuration of the running task as NX_TASK_TARGET_CONFIGURATION; the choice is
// handed to the code under test through BITNET_KERNELS, which jest workers inherit.
const path = require('node:path');

const MODE_BY_CONFIGURATION = { cpu: 'native', ts: 'ts' };

function kernelMode() {
  const fromNx = MODE_BY_CONFIGURATION[process.env.NX_TASK_TARGET_CONFIGURATION ?? ''];
  return fromNx ?? process.env.BITNET_KERNELS ?? 'auto';
}

function projectConfig(projectDir, displayName) {
  const mode = kernelMode();
  process.env.BITNET_KERNELS = mode;
  const root = __dirname;
  return {
    displayName: `${displayName} [kernels=${mode}]`,
    rootDir: projectDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bin/**/*.spec.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(projectDir, 'tsconfig.spec.json') }],
    },
    moduleFileExtensions: ['ts', 'js', 'json'],
    moduleNameMapper: {
      '^@bitnet/(models|kernels|inference|server)$': path.join(root, 'packages/bitnet-$1/src/index.ts'),
    },
    globals: { BITNET_KERNELS: mode },
    testTimeout: 120000,
  };
}

module.exports = { projectConfig, kernelMode };
