// The nurse alarm screen in a real Chromium (Debian's, driven by playwright-core): a bed
// desaturates in the simulator, the high-priority alarm shows on the tile and in the list, a
// nurse acknowledges it with her badge and PIN, the acknowledgement reaches the cloud, and when
// the gateway goes away the page says so at once.

import { alarmEvents } from '@wardgate/cloud/src/db/schema.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import { waitFor } from '@wardgate/shared/testing';
import { and, eq } from 'drizzle-orm';
import { chromium } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chromiumPath } from '../support/chromium.ts';
import { startWardStack } from '../support/ward-stack.ts';

const name =
  'nurse screen in Chromium: desaturation alarm, acknowledge with PIN, reaches the cloud, link loss shown';

if (!chromiumPath) {
  console.log('skipped: no chromium installed (apt-get install chromium; .ci/run does)');
  test.skip(name);
} else {
  test(name, async () => {
    const target = testDatabaseTargets()[0];
    const database = await target.open();
    const stack = await startWardStack({
      database,
      beds: 2,
      ward: { scenarios: { 'bed-1': 'desaturation' }, onsetSeconds: 0, monitorIntervalMs: 500 },
      config: {
        alarms: {
          beds: { 'bed-1': { limits: { MDC_PULS_OXIM_SAT_O2: { low: 90, delaySeconds: 1 } } } },
        },
        staff: [{ badge: 'N100', name: 'Test Nurse', pin: '2468' }],
      },
    });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    let stackStopped = false;
    try {
      const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
      await page.goto(stack.gatewayUrl);
      await page.getByTestId('bed-tile-bed-1').waitFor();
      await page.getByTestId('bed-tile-bed-2').waitFor();
      assert.match((await page.getByTestId('vital-bed-2-SpO2').textContent()) ?? '', /\d+\s*%/);

      const alarm = page.locator(
        '[data-testid^="alarm-"][data-priority="high"][data-kind="physiological"]',
        {
          hasText: 'SpO2',
        },
      );
      await alarm.first().waitFor({ timeout: 60_000 });
      const alarmTestId = (await alarm.first().getAttribute('data-testid')) as string;
      const alarmId = alarmTestId.slice('alarm-'.length);
      assert.match((await page.getByTestId('bed-tile-bed-1').getAttribute('class')) ?? '', /high/);

      // A wrong PIN is refused and said so; the right one acknowledges, recording who.
      await page.getByTestId(`alarm-ack-${alarmId}`).click();
      await page.getByTestId('pin-dialog').waitFor();
      await page.getByTestId('pin-badge').fill('N100');
      await page.getByTestId('pin-pin').fill('0000');
      await page.getByTestId('pin-submit').click();
      await page.getByTestId('pin-error').waitFor();
      await page.getByTestId('pin-pin').fill('2468');
      await page.getByTestId('pin-submit').click();
      await page.locator(`[data-testid="alarm-${alarmId}"][data-acked-by="N100"]`).waitFor();

      const acked = await waitFor(
        async () => {
          const rows = await database.db
            .select()
            .from(alarmEvents)
            .where(
              and(
                eq(alarmEvents.gatewayId, stack.gatewayId),
                eq(alarmEvents.transition, 'acknowledged'),
              ),
            );
          return rows.find((r) => r.actor === 'N100');
        },
        { timeoutMs: 20_000, what: 'the acknowledgement in the cloud database' },
      );
      assert.is(acked.bedId, 'bed-1');
      assert.is(acked.patientId, 'demo-0001');

      // The gateway goes away: the page must say so at once and grey its data.
      await stack.stop();
      stackStopped = true;
      await page.getByTestId('connection-banner').waitFor({ state: 'visible', timeout: 10_000 });
      assert.match((await page.locator('body').getAttribute('class')) ?? '', /stale/);
    } finally {
      await browser.close();
      if (!stackStopped) await stack.stop();
    }
  });
}

test.run();
