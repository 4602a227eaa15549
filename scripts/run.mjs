#!/usr/bin/env node
// Entry point for `npm run demo|test|bench|build|lint|format`. A fresh clone has only Node and npm:
// install the pnpm workspace first (pinned pnpm through npx), then run the task with the
// workspace's own tools. Plain .mjs so it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pnpmVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager;

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function installIsCurrent() {
  const marker = join(root, 'node_modules', '.modules.yaml');
  const lock = join(root, 'pnpm-lock.yaml');
  if (!existsSync(marker)) return false;
  const installedAt = statSync(marker).mtimeMs;
  const inputs = [
    lock,
    'package.json',
    ...['shared', 'edge', 'cloud', 'hardware-sim', 'e2e'].map((p) => join(p, 'package.json')),
  ];
  return inputs.every(
    (f) => !existsSync(join(root, f)) || statSync(join(root, f)).mtimeMs <= installedAt,
  );
}

function ensureInstalled() {
  if (installIsCurrent()) return;
  console.log(`[wardgate] installing the workspace with ${pnpmVersion} ...`);
  const frozen = process.env.CI ? ['--frozen-lockfile'] : [];
  const status = run('npx', ['--yes', pnpmVersion, 'install', ...frozen]);
  if (status !== 0) {
    console.error('[wardgate] install failed');
    process.exit(status);
  }
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
const tsx = (script, args = []) => run(process.execPath, ['--import', 'tsx', script, ...args]);

const task = process.argv[2];
const rest = process.argv.slice(3);
ensureInstalled();

let status = 0;
switch (task) {
  case 'demo':
    status = tsx('e2e/demo.ts', rest);
    break;
  case 'lint':
    status = run(bin('biome'), ['check', '.']) || run(bin('tsc'), ['-p', 'tsconfig.json']);
    break;
  case 'format':
    status = run(bin('biome'), ['check', '--write', '.']);
    break;
  case 'test':
    console.log('[wardgate] lint and format check (biome)');
    status = run(bin('biome'), ['check', '.']);
    if (status === 0) {
      console.log('[wardgate] type check (tsc)');
      status = run(bin('tsc'), ['-p', 'tsconfig.json']);
    }
    if (status === 0) status = run(process.execPath, ['scripts/test-runner.mjs', ...rest]);
    break;
  case 'fuzz':
    // Property-based fuzzing of the parsers: 7 properties × FUZZ_RUNS cases (≥ 140,000 by default).
    process.env.FUZZ_RUNS ??= '20000';
    status = tsx('shared/test/fuzz.test.ts', rest);
    break;
  case 'bench':
    status = tsx('e2e/bench/index.ts', rest);
    break;
  case 'build':
    // The production bundles edge/dist/wardgate-edge.mjs and cloud/dist/wardgate-cloud.mjs.
    status = run(process.execPath, ['scripts/build.mjs', ...rest]);
    break;
  default:
    console.error('usage: node scripts/run.mjs demo|test|bench|build|fuzz|lint|format');
    status = 2;
}
process.exit(status);
