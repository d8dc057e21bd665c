#!/usr/bin/env node
// Run by `nx release` before versioning (nx.json release.version.preVersionCommand). The @bitnet
// packages go to a private registry: a real release (not --dry-run) needs BITNET_REGISTRY, which
// the repository's .npmrc turns into the @bitnet scope's registry. Without it npm would fall back to
// the public registry. Dry runs (NX_DRY_RUN=true) pass.
'use strict';
if (process.env.NX_DRY_RUN === 'true') process.exit(0);
const registry = process.env.BITNET_REGISTRY;
if (!registry || !/^https?:\/\//.test(registry)) {
  console.error(
    'nx release: set BITNET_REGISTRY to the private registry the @bitnet packages are published to ' +
      '(e.g. BITNET_REGISTRY=https://npm.example.com/ npx nx release), with its token in ~/.npmrc. ' +
      'Refusing to publish to the public registry.',
  );
  process.exit(1);
}
console.log(`nx release: @bitnet packages will be published to ${registry}`);
