import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AlarmEvent,
  type DeviceStatus,
  type GatewayConfigDown,
  initCrypto,
} from '@wardgate/shared';
import type { LoadedConfig } from '../config/load.ts';
import { type DeviceStats, type Driver, type DriverSink, driversFor } from '../drivers/index.ts';
import { ReadingWriter } from '../store/reading-writer.ts';
import { EdgeStore } from '../store/store.ts';
import { CloudSync } from '../sync/sync.ts';
import { DeviceAlarmRelay } from './device-alarms.ts';

export type Logger = (level: 'info' | 'warn' | 'error', message: string) => void;

export const consoleLogger: Logger = (level, message) => {
  const line = `${new Date().toISOString()} ${level.padEnd(5)} ${message}`;
  if (level === 'info') console.log(line);
  else console.error(line);
};

/** Secret key files hold the base64 Ed25519 secret key (optionally with comment lines). */
export function readSigningKey(file: string): string {
  const text = readFileSync(file, 'utf8');
  const key = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  if (!key || Buffer.from(key, 'base64').length !== 64)
    throw new Error(`${file}: not an Ed25519 secret key (expected 64 bytes, base64)`);
  return key;
}

/**
 * One ward gateway: the drivers feed readings and device alarms into the SQLite store, the sync
 * drains the store to the cloud, and the cloud's config comes back down. Drivers, store and sync
 * only meet here.
 */
export class Gateway {
  readonly store: EdgeStore;
  readonly writer: ReadingWriter;
  readonly sync: CloudSync;
  readonly drivers: Driver[];
  readonly startedAt = Date.now();
  readonly frameErrors = new Map<string, number>();
  private readonly relay = new DeviceAlarmRelay();
  private readonly status = new Map<string, DeviceStatus>();
  private readonly loaded: LoadedConfig;
  private readonly log: Logger;
  cloudConfig: GatewayConfigDown | undefined;

  private constructor(loaded: LoadedConfig, secretKey: string, log: Logger) {
    this.loaded = loaded;
    this.log = log;
    const { config } = loaded;
    this.store = new EdgeStore(join(loaded.dataDir, 'wardgate-edge.sqlite'));
    this.writer = new ReadingWriter(this.store, {
      onError: (e) => log('error', `store: readings not committed yet, retrying: ${e.message}`),
    });
    this.cloudConfig = this.store.getSetting<GatewayConfigDown>('cloud-config');
    for (const device of config.devices)
      this.status.set(device.id, {
        deviceId: device.id,
        bedId: device.bed,
        kind: device.kind,
        state: 'offline',
        lastContact: null,
        error: null,
      });
    this.drivers = driversFor(config, loaded.profiles);
    this.sync = new CloudSync(this.store, {
      gatewayId: config.gateway.id,
      mqttUrl: config.cloud.mqttUrl,
      username: config.cloud.username ?? config.gateway.id,
      password: config.cloud.password,
      secretKey,
      batchSize: { alarms: 50, readings: config.cloud.batchSize },
      readingsWindowMs: config.cloud.batchWindowMs,
      devices: () => [...this.status.values()],
    });
    this.sync.on('link', (up) => log(up ? 'info' : 'warn', `cloud link ${up ? 'up' : 'down'}`));
    this.sync.on('error', (e) => log('warn', `cloud: ${e.message}`));
    this.sync.on('config', (down) => {
      this.cloudConfig = down;
      this.store.putSetting('cloud-config', down);
      log('info', `cloud config received: ${down.beds.length} bed assignments`);
    });
  }

  static async start(loaded: LoadedConfig, log: Logger = consoleLogger): Promise<Gateway> {
    await initCrypto();
    const gateway = new Gateway(loaded, readSigningKey(loaded.signingKeyFile), log);
    try {
      for (const driver of gateway.drivers) await driver.start(gateway.sink);
    } catch (error) {
      await gateway.stop();
      throw error;
    }
    gateway.sync.start();
    log(
      'info',
      `gateway ${loaded.config.gateway.id} started: ${loaded.config.devices.length} devices, ` +
        `store ${gateway.store.file}`,
    );
    return gateway;
  }

  get id(): string {
    return this.loaded.config.gateway.id;
  }

  /** What the drivers talk to. */
  readonly sink: DriverSink = {
    readings: async (batch) => {
      if (batch.length === 0) return true;
      const device = this.status.get(batch[0].deviceId);
      if (device) device.lastContact = batch[batch.length - 1].gatewayTime;
      const committed = await this.writer.write(batch);
      if (!committed)
        this.log('error', `store: refused ${batch.length} readings (writes failing, buffer full)`);
      return committed;
    },
    deviceAlarm: (signal) => {
      const event = this.relay.transition(signal);
      if (event) this.recordAlarm(event);
    },
    status: (deviceId, state, error) => {
      const device = this.status.get(deviceId);
      if (!device || (device.state === state && device.error === (error ?? null))) return;
      device.state = state;
      device.error = error ?? null;
      if (state === 'online') device.lastContact = Date.now();
      this.log(
        state === 'online' ? 'info' : 'warn',
        `${deviceId} ${state}${error ? `: ${error}` : ''}`,
      );
      this.sync.statusChanged();
    },
    frameError: (deviceId, error) => {
      const key = deviceId ?? '(unknown device)';
      this.frameErrors.set(key, (this.frameErrors.get(key) ?? 0) + 1);
      this.log('warn', `${key}: ${error.message}`);
    },
  };

  /** Alarm transitions commit at once, without the readings' batch window. */
  private recordAlarm(event: Omit<AlarmEvent, 'seq'>): void {
    try {
      this.store.appendAlarmEvents([event]);
    } catch (error) {
      this.log('error', `store: alarm event NOT stored: ${(error as Error).message}`);
    }
  }

  deviceStatuses(): DeviceStatus[] {
    return [...this.status.values()];
  }

  deviceStats(): DeviceStats[] {
    return this.drivers.flatMap((d) => d.stats());
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.drivers.map((d) => d.stop()));
    this.writer.close();
    await this.sync.stop();
    this.store.close();
  }
}
