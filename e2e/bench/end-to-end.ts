import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '@wardgate/cloud/src/db/database.ts';
import { startCloud } from '@wardgate/cloud/src/server.ts';
import { EdgeStore } from '@wardgate/edge/src/store/store.ts';
import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { monitorReadings } from './edge-store.ts';

export interface EndToEndFigures {
  database: string;
  readings: number;
  readingsPerSecond: number;
  edgePeakRssMb: number;
  /** RSS of the edge process when loaded and before the drain: the part that is not load. */
  edgeStartRssMb: number;
}

const drainScript = fileURLToPath(new URL('./edge-drain.ts', import.meta.url));

/**
 * Readings/s from the edge's outbox to committed in the cloud database: the edge sync runs in its
 * own process (as on a gateway) against the cloud's broker and ingest; the clock stops when the
 * cloud's ack for the last reading arrives, and the cloud acks only after its commit.
 */
export async function benchEndToEnd(database: Database, total = 100_000): Promise<EndToEndFigures> {
  await initCrypto();
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-bench-e2e-'));
  const cloud = await startCloud({ database, httpPort: 0, mqttPort: 0 });
  try {
    const keys = generateSigningKeyPair();
    const gatewayId = 'bench';
    await cloud.addGateway({
      id: gatewayId,
      publicKey: keys.publicKey,
      password: 'bench-password',
    });
    const storeFile = join(dir, 'edge.sqlite');
    const store = new EdgeStore(storeFile);
    const data = monitorReadings(total);
    for (let i = 0; i < total; i += 10_000) store.appendReadings(data.slice(i, i + 10_000));
    store.close();

    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          drainScript,
          storeFile,
          cloud.mqttUrl,
          gatewayId,
          'bench-password',
          keys.secretKey,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
      });
      child.on('exit', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`edge drain exited ${code}`)),
      );
    });
    const result = JSON.parse(output.trim().split('\n').pop() as string) as {
      readings: number;
      seconds: number;
      startRssMb: number;
      peakRssMb: number;
    };
    return {
      database: database.describe,
      readings: result.readings,
      readingsPerSecond: result.readings / result.seconds,
      edgePeakRssMb: result.peakRssMb,
      edgeStartRssMb: result.startRssMb,
    };
  } finally {
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
