#!/usr/bin/env node
// Runs every `<package>/test/**/*.test.ts` in its own Node process (tests start servers and
// child processes; a process per file keeps them apart and lets us kill a hung file whole).
// Usage: node scripts/test-runner.mjs [substring ...]   e.g. `npm test -- edge/test/store`
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['shared', 'hardware-sim', 'edge', 'cloud', 'e2e'];
const filters = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 300_000);

function findTests(dir) {
  let out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(findTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const files = packages
  .flatMap((p) => findTests(join(root, p, 'test')))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const stripAnsi = (s) => s.replace(/\u001b\[[0-9;]*m/g, '');
const count = (text, label) => {
  const m = text.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
};

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, fileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Reap anything the file left behind (servers, simulators) in its process group.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      const text = stripAnsi(output);
      const total = count(text, 'Total');
      const passed = count(text, 'Passed');
      const skipped = count(text, 'Skipped');
      resolve({ file, code, text, total, passed, skipped, timedOut, ms: Date.now() - started });
    });
  });
}

const queue = [...files];
const results = [];
async function worker() {
  while (queue.length > 0) {
    const file = queue.shift();
    const r = await runFile(file);
    const ok = r.code === 0 && !r.timedOut && r.total > 0;
    r.ok = ok;
    results.push(r);
    const status = ok ? 'ok  ' : 'FAIL';
    console.log(
      `${status} ${file}  (${r.passed}/${r.total} passed, ${r.skipped} skipped, ${(r.ms / 1000).toFixed(1)}s)`,
    );
    if (!ok) {
      if (r.timedOut) console.log(`     timed out after ${fileTimeoutMs / 1000}s and was killed`);
      if (r.total === 0) console.log('     ran no test');
      console.log(
        r.text
          .split('\n')
          .map((l) => `     | ${l}`)
          .join('\n'),
      );
    } else if (process.env.TEST_VERBOSE) {
      console.log(r.text);
    }
  }
}

if (files.length === 0) {
  console.log('no test files matched');
  process.exit(1);
}
console.log(`[wardgate] running ${files.length} test files, ${concurrency} at a time`);
await Promise.all(Array.from({ length: concurrency }, worker));

const sum = (key) => results.reduce((a, r) => a + r[key], 0);
const failedFiles = results.filter((r) => !r.ok);
console.log('');
console.log(
  `${sum('passed')} passed, ${sum('total') - sum('passed') - sum('skipped')} failed, ${sum('skipped')} skipped in ${results.length} files`,
);
if (failedFiles.length) {
  console.log(
    `failing files (crashed, timed out or failed): ${failedFiles.map((r) => r.file).join(', ')}`,
  );
  process.exit(1);
}
