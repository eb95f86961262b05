// Applies, with Renovate's own code (the installed `renovate` package), the upgrades
// Renovate's lookup proposed for one chart: each file edited by Renovate's
// autoReplace from the upgrade as the lookup logged it, then renovate.json's package
// rules and Renovate's bumpVersions step on the resulting branch. Prints one JSON
// object: every file the branch changes, and its new content.
//
// usage: node update.mjs RENOVATE_DIST REPO_COPY CHART UPGRADES.json
//   UPGRADES.json: [{packageFile, manager, fileConfig: {…}, dep: {…}, update: {…}}]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, repo, chart, upgradesFile] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { GlobalConfig } = await load('config/global.js');
const { setPlatformScmApi } = await load('modules/platform/scm.js');
const { applyPackageRules } = await load('util/package-rules/index.js');
const { doAutoReplace } = await load('workers/repository/update/branch/auto-replace.js');
const { bumpVersions } = await load('workers/repository/update/branch/bump-versions.js');

process.chdir(repo);
GlobalConfig.set({ localDir: repo });
setPlatformScmApi('local');
const config = JSON.parse(readFileSync(join(repo, 'renovate.json'), 'utf8'));
const proposed = JSON.parse(readFileSync(upgradesFile, 'utf8'));

const files = {};
let first;
for (const { packageFile, manager, fileConfig, dep, update } of proposed) {
  const dir = `charts/${chart}`;
  const upgrade = await applyPackageRules(
    {
      ...fileConfig,
      ...dep,
      ...update,
      manager,
      packageFile,
      packageFileDir: dir,
      parentDir: chart,
      packageRules: config.packageRules,
    },
    'test',
  );
  first ??= upgrade;
  const before = files[packageFile] ?? readFileSync(join(repo, packageFile), 'utf8');
  files[packageFile] = await doAutoReplace(upgrade, before, false);
}
const branch = {
  ...first,
  upgrades: [first],
  updatedPackageFiles: Object.entries(files).map(([path, contents]) => ({ type: 'addition', path, contents })),
  updatedArtifacts: [],
};
await bumpVersions(branch);
const out = {};
for (const f of [...branch.updatedPackageFiles, ...branch.updatedArtifacts]) out[f.path] = f.contents;
console.log(JSON.stringify({ files: out, errors: branch.artifactErrors ?? [] }));
