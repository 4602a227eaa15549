import {
  downTopic,
  type GatewayConfigDown,
  generateSigningKeyPair,
  initCrypto,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seedDemo } from '../src/beds/seed-demo.ts';
import { startCloud } from '../src/server.ts';
import { apiToken, fetchWith } from './support/api-token.ts';
import { connectGateway } from './support/gateway-client.ts';
import { testDatabaseTargets } from './support/test-database.ts';

await initCrypto();

for (const target of testDatabaseTargets()) {
  test(`${target.name}: a bed's alarm settings are stored, validated and sent down in the retained config`, async () => {
    const cloud = await startCloud({ database: await target.open(), httpPort: 0, mqttPort: 0 });
    try {
      // An API client allowed everything signs every request of this test.
      const fetch = fetchWith(await apiToken(cloud));
      await seedDemo(cloud.database.db, { gatewayId: 'ward-x', beds: 2 });
      await cloud.addGateway({
        id: 'ward-x',
        publicKey: generateSigningKeyPair().publicKey,
        password: 'pw-ward-x',
      });
      const url = `${cloud.httpUrl}/api/beds/ward-x/bed-2/alarm-settings`;
      const put = (body: unknown) =>
        fetch(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });

      const settings = {
        profile: 'neonatal',
        limits: { MDC_PULS_OXIM_SAT_O2: { low: 85, delaySeconds: 5 } },
      };
      const ok = await put(settings);
      assert.is(ok.status, 200);
      assert.equal((await ok.json()).settings, settings);
      assert.equal((await (await fetch(url)).json()).settings, settings);

      const gateway = await connectGateway(cloud.mqttUrl, 'ward-x', 'pw-ward-x');
      await gateway.client.subscribeAsync(downTopic('ward-x', 'config'), { qos: 1 });
      const config = await waitFor(() =>
        gateway.received<GatewayConfigDown>(downTopic('ward-x', 'config')).at(-1),
      );
      assert.equal(config.beds.find((b) => b.bedId === 'bed-2')?.alarms, settings);
      assert.is(config.beds.find((b) => b.bedId === 'bed-1')?.alarms, undefined);
      assert.is(
        config.beds.find((b) => b.bedId === 'bed-2')?.displayName !== null,
        true,
        'the patient name stays',
      );

      const bad = await put({
        profile: 'giraffe',
        limits: { MDC_ECG_HEART_RATE: { low: 150, high: 60 } },
      });
      assert.is(bad.status, 400);
      assert.match((await bad.json()).error.message, /profile/);
      const inverted = await put({ limits: { MDC_ECG_HEART_RATE: { low: 150, high: 60 } } });
      assert.is(inverted.status, 400);
      assert.match((await inverted.json()).error.message, /MDC_ECG_HEART_RATE/);
      const unknown = await fetch(`${cloud.httpUrl}/api/beds/ward-nope/bed-1/alarm-settings`);
      assert.is(unknown.status, 404);
      await gateway.client.endAsync();
    } finally {
      await cloud.stop();
    }
  });
}

test.run();
