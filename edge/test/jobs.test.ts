import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scheduleJobs } from '../src/jobs/jobs.ts';

const logs: string[] = [];
const log = (_level: string, message: string) => logs.push(message);

test('jobs run on their cron schedule, a failing job is counted and logged, stop ends them', async () => {
  let ran = 0;
  const jobs = scheduleJobs(
    [
      { name: 'every-second', schedule: '* * * * * *', run: () => void ran++ },
      {
        name: 'failing',
        schedule: '* * * * * *',
        run: () => {
          throw new Error('disk on fire');
        },
      },
    ],
    log,
  );
  try {
    await waitFor(() => ran >= 2, { timeoutMs: 5000, what: 'two runs' });
    await waitFor(() => jobs.stats().failing.failures >= 1, { timeoutMs: 5000, what: 'a failure' });
    assert.is(jobs.stats().failing.lastError, 'disk on fire');
    assert.ok(logs.some((l) => /job failing failed: disk on fire/.test(l)));
    assert.ok(jobs.stats()['every-second'].lastRunAt);
  } finally {
    await jobs.stop();
  }
  const after = ran;
  const runsAtStop = jobs.stats()['every-second'].runs;
  assert.is(runsAtStop, after);
});

test('an invalid cron expression is refused with the job name', () => {
  assert.throws(
    () => scheduleJobs([{ name: 'bad', schedule: 'every tuesday', run: () => {} }], log),
    /job bad: invalid cron/,
  );
});

test('the gateway config carries the retention setting with its default', async () => {
  const { parseConfig } = await import('../src/config/load.ts');
  const { EXAMPLE_CONFIG } = await import('../src/config/example.ts');
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-jobs-'));
  try {
    const loaded = parseConfig(
      EXAMPLE_CONFIG.replace('keepAckedReadingsHours: 72', 'keepAckedReadingsHours: 24'),
      join(dir, 'edge.yaml'),
    );
    assert.is(loaded.config.retention.keepAckedReadingsHours, 24);
    assert.is(loaded.config.staff[0].badge, 'N100');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
