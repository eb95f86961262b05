// Runs Renovate's own code (the installed `renovate` package) on what an
// image update would produce in each chart: the package rules of renovate.json
// applied to the upgrade, then Renovate's bumpVersions step on the branch.
// Prints one JSON line per chart: the Chart.yaml Renovate would write.
//
// usage: node bump.mjs RENOVATE_DIST REPO_COPY CHART...
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, repo, ...charts] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { GlobalConfig } = await load('config/global.js');
const { setPlatformScmApi } = await load('modules/platform/scm.js');
const { applyPackageRules } = await load('util/package-rules/index.js');
const { bumpVersions } = await load('workers/repository/update/branch/bump-versions.js');

process.chdir(repo);
GlobalConfig.set({ localDir: repo });
setPlatformScmApi('local');
const config = JSON.parse(readFileSync(join(repo, 'renovate.json'), 'utf8'));

for (const chart of charts) {
  const dir = `charts/${chart}`;
  const packageFile = `${dir}/values.yaml`;
  const values = readFileSync(join(repo, packageFile), 'utf8');
  // The upgrade as the regex manager reports it: a patch update of the main image.
  const upgrade = await applyPackageRules(
    {
      packageRules: config.packageRules,
      manager: 'regex',
      packageFile,
      packageFileDir: dir,
      parentDir: chart,
      depName: 'example/image',
      datasource: 'docker',
      updateType: 'patch',
      isPatch: true,
    },
    'test',
  );
  const branch = {
    ...upgrade,
    upgrades: [{ ...upgrade, newVersion: '9.9.9' }],
    updatedPackageFiles: [{ type: 'addition', path: packageFile, contents: values }],
    updatedArtifacts: [],
  };
  await bumpVersions(branch);
  const changed = [...branch.updatedPackageFiles, ...branch.updatedArtifacts].find(
    (f) => f.path === `${dir}/Chart.yaml`,
  );
  console.log(
    JSON.stringify({
      chart,
      bumpVersions: (upgrade.bumpVersions ?? []).length,
      branchPrefix: upgrade.additionalBranchPrefix ?? null,
      chartYaml: changed?.contents ?? null,
      errors: branch.artifactErrors ?? [],
    }),
  );
}
