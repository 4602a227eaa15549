// Child process of the end-to-end benchmark: the edge's sync drains a prefilled SQLite outbox to
// the cloud and reports how long until the cloud acked the last reading, and its own peak RSS.

import { EdgeStore } from '@wardgate/edge/src/store/store.ts';
import { CloudSync } from '@wardgate/edge/src/sync/sync.ts';
import { initCrypto } from '@wardgate/shared';

const [storeFile, mqttUrl, gatewayId, password, secretKey] = process.argv.slice(2);
await initCrypto();
const store = new EdgeStore(storeFile);
const { lastSeq } = store.cursor('readings');
const sync = new CloudSync(store, {
  gatewayId,
  mqttUrl,
  username: gatewayId,
  password,
  secretKey,
  batchSize: { alarms: 50, readings: 500 },
  readingsWindowMs: 200,
  devices: () => [],
});
const startRssMb = process.memoryUsage().rss / 1048576;
const started = process.hrtime.bigint();
const done = new Promise<void>((resolve) =>
  sync.on('acked', (stream, upTo) => {
    if (stream === 'readings' && upTo === lastSeq) resolve();
  }),
);
sync.start();
await done;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await sync.stop();
store.close();
const peakRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify({ readings: lastSeq, seconds, startRssMb, peakRssMb })}\n`);
