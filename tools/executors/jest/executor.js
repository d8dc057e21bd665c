// Nx executor for the packages' `test` targets.
//
// Configurations mirror the Rust crate's feature flags:
//   nx test <pkg>          kernels = auto (native when built, else TypeScript) unless BITNET_KERNELS says otherwise
//   nx test <pkg> -c cpu   kernels = native, required
//   nx test <pkg> -c ts    kernels = TypeScript, forced
// `-t PATTERN` selects tests by name, as `cargo test ... PATTERN` does. Nx's own CLI claims `-t`
// (as --target) before executors see it, so the pattern is recovered from the command line of the
// Nx process that started this task (Linux /proc); `--testNamePattern=PATTERN` works everywhere.
const fs = require('node:fs');
const path = require('node:path');

const MODES = { cpu: 'native', ts: 'ts' };
const NX_COMMANDS = new Set(['run', 'run-many', 'affected', 'exec', 'watch', 'show', 'graph', 'release', 'reset', 'init', 'add']);

/** The value of `-t`/`--target` given to `nx <target> <project> ...`, if this task came from that form. */
function nameFilterFromNxCommandLine(targetName) {
  let argv;
  try {
    argv = fs.readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
  const nxAt = argv.findIndex((a) => /(^|[\\/])nx(\.js)?$/.test(a) || /nx[\\/]bin[\\/]nx\.js$/.test(a));
  if (nxAt < 0) return undefined;
  const args = argv.slice(nxAt + 1);
  if (args.length === 0 || NX_COMMANDS.has(args[0]) || args[0] !== targetName) return undefined;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if ((a === '-t' || a === '--target') && i + 1 < args.length) return args[i + 1];
    const m = /^(?:-t|--target)=(.*)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

module.exports = async function jestExecutor(options, context) {
  const { jestConfig, testNamePattern, ...rest } = options;
  const mode = MODES[context.configurationName];
  if (mode) process.env.BITNET_KERNELS = mode;
  const pattern = testNamePattern ?? nameFilterFromNxCommandLine(context.targetName);
  const argv = {
    ...rest,
    config: path.resolve(context.root, jestConfig),
    ci: rest.ci ?? !!process.env.CI,
    $0: 'jest',
    _: rest.testFile ? [rest.testFile] : [],
  };
  if (pattern) argv.testNamePattern = pattern;
  delete argv.testFile;
  const { runCLI } = require('jest');
  const { results } = await runCLI(argv, [argv.config]);
  return { success: results.success };
};
