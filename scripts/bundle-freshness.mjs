// Whether a production bundle (edge/dist, cloud/dist) still matches its sources. The build writes
// `<bundle>.inputs.json` beside each bundle: the workspace files esbuild read (and the build script).
// The bundle is current when every one of them still exists and none is newer than the bundle.
// No dependencies: the bins import this before choosing between the bundle and tsx.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundles the build makes: package folder, entry point and output, relative to the root. */
export const BUNDLES = [
  { name: 'edge', entry: 'edge/src/cli.ts', outfile: 'edge/dist/wardgate-edge.mjs' },
  { name: 'cloud', entry: 'cloud/src/cli.ts', outfile: 'cloud/dist/wardgate-cloud.mjs' },
];

export const inputsFileOf = (outfile) => outfile.replace(/\.mjs$/, '.inputs.json');

/** True when `outfile` (absolute or relative to the root) exists and no input is newer. */
export function bundleIsCurrent(outfile) {
  const bundle = isAbsolute(outfile) ? outfile : join(repoRoot, outfile);
  const inputsFile = inputsFileOf(bundle);
  if (!existsSync(bundle) || !existsSync(inputsFile)) return false;
  const builtAt = statSync(bundle).mtimeMs;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  return inputs.every((file) => {
    const path = join(repoRoot, file);
    return existsSync(path) && statSync(path).mtimeMs <= builtAt;
  });
}
