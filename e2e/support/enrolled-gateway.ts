import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@wardgate/edge/src/config/load.ts';
import { Gateway } from '@wardgate/edge/src/runtime/gateway.ts';
import { waitFor } from '@wardgate/shared/testing';

const edgeCli = fileURLToPath(new URL('../../edge/bin/wardgate-edge.mjs', import.meta.url));

/** The edge CLI, run asynchronously: the cloud it talks to lives in this process's event loop. */
export const edge = (cwd: string, ...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [edgeCli, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

/**
 * Starts the gateway of an enrolled config (devices left out: none are reachable in a test) and
 * waits until it has linked up and its first record, a technical alarm from `deviceId`, is acked.
 * The caller stops the gateway.
 */
export async function syncFirstRecord(configFile: string, deviceId: string): Promise<Gateway> {
  const loaded = loadConfig(configFile);
  loaded.config.devices = [];
  loaded.config.http.port = 0;
  const gateway = await Gateway.start(loaded, () => {});
  try {
    await waitFor(() => gateway.sync.connected, { what: 'the enrolled gateway linked up' });
    gateway.store.appendAlarmEvents([
      {
        alarmId: 'a1',
        deviceId,
        bedId: 'gateway',
        source: 'gateway',
        condition: 'WG_TEST',
        priority: 'low',
        kind: 'technical',
        transition: 'raised',
        time: Date.now(),
      },
    ]);
    await waitFor(() => gateway.store.cursor('alarms').ackedUpTo === 1, {
      what: 'the ack of its first record',
    });
    return gateway;
  } catch (error) {
    await gateway.stop();
    throw error;
  }
}
