// A whole ward for end-to-end tests and benchmarks, every part real over loopback: the cloud
// (broker + ingest + database + HTTP), a simulated ward, and a gateway configured for it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemo } from '@wardgate/cloud/src/beds/seed-demo.ts';
import type { Database } from '@wardgate/cloud/src/db/database.ts';
import { type Cloud, startCloud } from '@wardgate/cloud/src/server.ts';
import { loadConfig } from '@wardgate/edge/src/config/load.ts';
import type { MllpListenerDriver } from '@wardgate/edge/src/drivers/mllp-listener.ts';
import { type RunningHttp, serveGateway } from '@wardgate/edge/src/http/app.ts';
import { Gateway, type Logger } from '@wardgate/edge/src/runtime/gateway.ts';
import { Ward, type WardOptions } from '@wardgate/hardware-sim';
import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { stringify } from 'yaml';

export interface WardStack {
  cloud: Cloud;
  ward: Ward;
  gateway: Gateway;
  http: RunningHttp;
  gatewayId: string;
  /** The gateway's pages and API, e.g. http://127.0.0.1:PORT */
  gatewayUrl: string;
  stop(): Promise<void>;
}

export interface WardStackOptions {
  database: Database;
  beds: number;
  gatewayId?: string;
  ward?: Partial<WardOptions>;
  /** Extra sections merged into the gateway config (alarms, staff, ...). */
  config?: Record<string, unknown>;
  pollIntervalMs?: number;
  /** A device silent (or sending nothing usable) this long is offline; default 10. */
  silentAfterSeconds?: number;
  /** Where the gateway logs; default nowhere. */
  log?: Logger;
  /** Chart slot length in seconds (default 2, so that tests see charted Observations soon). */
  chartIntervalSeconds?: number;
}

const quiet = () => {};

export async function startWardStack(options: WardStackOptions): Promise<WardStack> {
  await initCrypto();
  const gatewayId = options.gatewayId ?? 'ward-e2e';
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-stack-'));
  const cloud = await startCloud({
    database: options.database,
    httpPort: 0,
    mqttPort: 0,
    log: quiet,
    charting: {
      intervalSeconds: options.chartIntervalSeconds ?? 2,
      settleSeconds: 1,
      runEverySeconds: 1,
    },
  });
  const ward = new Ward({
    monitorIntervalMs: 1000,
    oximeterIntervalMs: 1000,
    seed: 7,
    ...options.ward,
    beds: options.beds,
  });
  let gateway: Gateway | null = null;
  let http: RunningHttp | null = null;
  const stop = async () => {
    await http?.close();
    await ward.stop();
    await gateway?.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keys = generateSigningKeyPair();
    // Admitted a minute ago: the oximeter stamps whole seconds, so a reading from the very second
    // of admission could otherwise predate it.
    await seedDemo(options.database.db, { gatewayId, beds: options.beds, at: Date.now() - 60_000 });
    await cloud.addGateway({ id: gatewayId, publicKey: keys.publicKey, password: 'stack-secret' });
    await ward.startListeners();
    const keyFile = join(dir, 'gateway.key');
    writeFileSync(keyFile, `${keys.secretKey}\n`);
    const configFile = join(dir, 'edge.yaml');
    writeFileSync(
      configFile,
      stringify({
        gateway: { id: gatewayId, dataDir: join(dir, 'edge') },
        cloud: {
          mqttUrl: cloud.mqttUrl,
          password: 'stack-secret',
          signingKeyFile: keyFile,
          batchWindowMs: 50,
        },
        mllp: { host: '127.0.0.1', port: 0 },
        devices: ward.edgeDevices({
          pollIntervalMs: options.pollIntervalMs ?? 500,
          silentAfterSeconds: options.silentAfterSeconds,
        }),
        ...options.config,
      }),
    );
    gateway = await Gateway.start(loadConfig(configFile), options.log ?? quiet);
    const mllp = gateway.drivers.find((d) => d.type === 'hl7-mllp') as MllpListenerDriver;
    await ward.startMonitors({ host: '127.0.0.1', port: mllp.address().port });
    http = await serveGateway(gateway, '127.0.0.1', 0);
    return {
      cloud,
      ward,
      gateway,
      http,
      gatewayId,
      gatewayUrl: `http://127.0.0.1:${http.port}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
