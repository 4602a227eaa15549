import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  type AlarmEventInput,
  type DeviceStatus,
  type GatewayConfigDown,
  initCrypto,
} from '@wardgate/shared';
import { AlarmEngine } from '../alarms/engine.ts';
import type { LoadedConfig } from '../config/load.ts';
import { type DeviceStats, type Driver, type DriverSink, driversFor } from '../drivers/index.ts';
import { type JobDefinition, type ScheduledJobs, scheduleJobs } from '../jobs/jobs.ts';
import { ReadingWriter } from '../store/reading-writer.ts';
import { EdgeStore } from '../store/store.ts';
import { CloudSync } from '../sync/sync.ts';
import type { BedView, GatewayHealth, LiveWard } from '../ui/types.ts';
import { diskSpace, technicalConditions } from './technical-checks.ts';

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

/** How often alarm timers advance and device technical conditions are checked. */
const ALARM_TICK_MS = 250;
const DEVICE_CHECK_MS = 1000;

/**
 * One ward gateway: the drivers feed readings and device alarms into the alarm engine and the
 * SQLite store, the sync drains the store to the cloud, and the cloud's config comes back down.
 * Drivers, engine, store, sync and pages only meet here.
 */
export class Gateway implements LiveWard {
  readonly store: EdgeStore;
  readonly writer: ReadingWriter;
  readonly sync: CloudSync;
  readonly drivers: Driver[];
  readonly alarms: AlarmEngine;
  readonly startedAt = Date.now();
  readonly frameErrors = new Map<string, number>();
  private readonly lastFrameError = new Map<string, { time: number; message: string }>();
  /** Times each device dropped offline within the unstable window, for WG_DEVICE_UNSTABLE. */
  private readonly dropsAt = new Map<string, number[]>();
  private readonly status = new Map<string, DeviceStatus>();
  private readonly vitals = new Map<string, BedView['vitals']>();
  private readonly changes = new EventEmitter<{ change: [] }>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly loaded: LoadedConfig;
  private readonly log: Logger;
  private cloudDownSince: number | null = Date.now();
  private pendingAlarms: AlarmEventInput[] = [];
  private jobs: ScheduledJobs | null = null;
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
    this.alarms = new AlarmEngine(
      {
        defaultProfile: config.alarms.defaultProfile,
        beds: config.alarms.beds,
        silenceSeconds: config.alarms.silenceSeconds,
        escalateAfterSeconds: config.alarms.escalateAfterSeconds,
      },
      { gatewayId: config.gateway.id },
    );
    this.alarms.onTransition((event) => this.recordAlarm(event));
    this.applyCloudConfig(this.cloudConfig);
    this.drivers = driversFor(config, loaded.profiles);
    this.sync = new CloudSync(this.store, {
      gatewayId: config.gateway.id,
      mqttUrl: config.cloud.mqttUrl,
      username: config.cloud.username ?? config.gateway.id,
      password: config.cloud.password,
      secretKey,
      ca: loaded.ca,
      batchSize: { alarms: 50, readings: config.cloud.batchSize },
      readingsWindowMs: config.cloud.batchWindowMs,
      devices: () => [...this.status.values()],
    });
    this.sync.on('link', (up) => {
      this.cloudDownSince = up ? null : (this.cloudDownSince ?? Date.now());
      log(up ? 'info' : 'warn', `cloud link ${up ? 'up' : 'down'}`);
    });
    this.sync.on('error', (e) => log('warn', `cloud: ${e.message}`));
    this.sync.on('config', (down) => {
      this.cloudConfig = down;
      this.store.putSetting('cloud-config', down);
      this.applyCloudConfig(down);
      log('info', `cloud config received: ${down.beds.length} bed assignments`);
      this.changed();
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
    gateway.timers.push(
      setInterval(() => gateway.alarms.tick(), ALARM_TICK_MS),
      setInterval(() => gateway.checkTechnical({ devices: true, gateway: false }), DEVICE_CHECK_MS),
    );
    gateway.jobs = scheduleJobs(gateway.jobDefinitions(), log);
    log(
      'info',
      `gateway ${loaded.config.gateway.id} started: ${loaded.config.devices.length} devices, ` +
        `store ${gateway.store.file}`,
    );
    return gateway;
  }

  get gatewayId(): string {
    return this.loaded.config.gateway.id;
  }

  /** What the drivers talk to. */
  readonly sink: DriverSink = {
    readings: async (batch) => {
      if (batch.length === 0) return true;
      const device = this.status.get(batch[0].deviceId);
      if (device) device.lastContact = batch[batch.length - 1].gatewayTime;
      this.alarms.onReadings(batch);
      for (const reading of batch) {
        let bed = this.vitals.get(reading.bedId);
        if (!bed) {
          bed = {};
          this.vitals.set(reading.bedId, bed);
        }
        bed[reading.parameter] = {
          value: reading.value,
          unit: reading.unit,
          time: reading.deviceTime,
        };
      }
      this.changed();
      const committed = await this.writer.write(batch);
      if (!committed)
        this.log('error', `store: refused ${batch.length} readings (writes failing, buffer full)`);
      return committed;
    },
    deviceAlarm: (signal) => this.alarms.onDeviceAlarm(signal),
    status: (deviceId, state, error) => {
      const device = this.status.get(deviceId);
      if (!device || (device.state === state && device.error === (error ?? null))) return;
      if (device.state === 'online' && state !== 'online') this.recordDrop(deviceId);
      device.state = state;
      device.error = error ?? null;
      if (state === 'online') device.lastContact = Date.now();
      this.log(
        state === 'online' ? 'info' : 'warn',
        `${deviceId} ${state}${error ? `: ${error}` : ''}`,
      );
      this.sync.statusChanged();
      this.checkTechnical({ devices: true, gateway: false });
      this.changed();
    },
    frameError: (deviceId, error) => {
      const key = deviceId ?? '(unknown device)';
      this.frameErrors.set(key, (this.frameErrors.get(key) ?? 0) + 1);
      if (deviceId) this.lastFrameError.set(deviceId, { time: Date.now(), message: error.message });
      this.log('warn', `${key}: ${error.message}`);
    },
  };

  private recordDrop(deviceId: string): void {
    const now = Date.now();
    const windowMs = this.loaded.config.alarms.unstableWindowSeconds * 1000;
    const drops = (this.dropsAt.get(deviceId) ?? []).filter((t) => now - t < windowMs);
    drops.push(now);
    this.dropsAt.set(deviceId, drops);
  }

  /**
   * Alarm transitions commit at once, without the readings' batch window: the ones raised in the
   * same turn of the event loop (a burst across the ward) share one transaction and one fsync,
   * committed before any further I/O is handled.
   */
  private recordAlarm(event: AlarmEventInput): void {
    this.pendingAlarms.push(event);
    if (this.pendingAlarms.length === 1) setImmediate(() => this.commitAlarms());
  }

  private commitAlarms(): void {
    const events = this.pendingAlarms;
    this.pendingAlarms = [];
    try {
      this.store.appendAlarmEvents(events);
    } catch (error) {
      this.log(
        'error',
        `store: ${events.length} alarm events NOT stored: ${(error as Error).message}`,
      );
    }
  }

  private applyCloudConfig(down: GatewayConfigDown | undefined): void {
    for (const bed of down?.beds ?? []) this.alarms.setBedSettings(bed.bedId, bed.alarms);
  }

  /** The scheduled housekeeping (node-cron): retention, WAL checkpoint, checks, heartbeat. */
  private jobDefinitions(): JobDefinition[] {
    const keepMs = this.loaded.config.retention.keepAckedReadingsHours * 3_600_000;
    return [
      {
        name: 'retention',
        schedule: '17 * * * *',
        run: () => {
          const pruned = this.store.pruneAckedReadings(Date.now() - keepMs);
          if (pruned > 0) this.log('info', `retention: pruned ${pruned} acked readings`);
        },
      },
      { name: 'wal-checkpoint', schedule: '*/15 * * * *', run: () => this.store.checkpoint() },
      {
        name: 'disk-and-clock-checks',
        schedule: '*/30 * * * * *',
        run: () => {
          this.freeDiskIfLow();
          this.checkTechnical({ devices: false, gateway: true });
        },
      },
      { name: 'status-heartbeat', schedule: '* * * * *', run: () => this.sync.statusChanged() },
    ];
  }

  /** Low disk: the oldest acked readings go first, 100,000 at a time; unacked data never. */
  private freeDiskIfLow(): void {
    const minFree = this.loaded.config.alarms.minFreeDiskMb * 1048576;
    const free = () => diskSpace(this.loaded.dataDir)?.freeBytes ?? Number.POSITIVE_INFINITY;
    let pruned = 0;
    while (free() < minFree) {
      const batch = this.store.pruneOldestAckedReadings(100_000);
      if (batch === 0) break;
      pruned += batch;
    }
    if (pruned > 0) this.log('warn', `low disk: pruned the ${pruned} oldest acked readings`);
  }

  private checkTechnical(which = { devices: true, gateway: true }): void {
    const { config } = this.loaded;
    const conditions = technicalConditions(
      {
        gatewayId: this.gatewayId,
        now: Date.now(),
        devices: [...this.status.values()].map((d) => ({
          deviceId: d.deviceId,
          bedId: d.bedId ?? 'gateway',
          state: d.state,
          error: d.error,
        })),
        lastFrameErrorAt: this.lastFrameError,
        commErrorClearMs: config.alarms.commErrorClearSeconds * 1000,
        dropsAt: this.dropsAt,
        unstableAfterDrops: config.alarms.unstableAfterDrops,
        unstableWindowMs: config.alarms.unstableWindowSeconds * 1000,
        dataDir: this.loaded.dataDir,
        minFreeDiskMb: config.alarms.minFreeDiskMb,
        cloudConnected: this.sync.connected,
        cloudDownSince: this.cloudDownSince,
        cloudUnreachableSeconds: config.alarms.cloudUnreachableSeconds,
        clockSkewMs: this.sync.syncStats().clockSkewMs,
      },
      which,
    );
    for (const condition of conditions) this.alarms.onTechnical(condition);
  }

  private changed(): void {
    this.changes.emit('change');
  }

  onChange(listener: () => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  beds(): BedView[] {
    const beds = new Map<string, BedView>();
    const displayNames = new Map(this.cloudConfig?.beds.map((b) => [b.bedId, b.displayName]));
    for (const device of this.status.values()) {
      const bedId = device.bedId ?? 'gateway';
      let bed = beds.get(bedId);
      if (!bed) {
        bed = {
          bedId,
          displayName: displayNames.get(bedId) ?? null,
          devices: [],
          vitals: this.vitals.get(bedId) ?? {},
        };
        beds.set(bedId, bed);
      }
      bed.devices.push({
        deviceId: device.deviceId,
        kind: device.kind as BedView['devices'][number]['kind'],
        state: device.state,
        lastContact: device.lastContact,
      });
    }
    return [...beds.values()].sort((a, b) =>
      a.bedId.localeCompare(b.bedId, 'en', { numeric: true }),
    );
  }

  staff() {
    return this.loaded.config.staff;
  }

  deviceStatuses(): DeviceStatus[] {
    return [...this.status.values()];
  }

  deviceStats(): DeviceStats[] {
    return this.drivers.flatMap((d) => d.stats());
  }

  health(): GatewayHealth {
    const sync = this.sync.syncStats();
    const disk = diskSpace(this.loaded.dataDir) ?? { freeBytes: 0, totalBytes: 0 };
    const memory = process.memoryUsage();
    const backlog = (stream: 'alarms' | 'readings') => {
      const { lastSeq, ackedUpTo, ackedAt } = sync.streams[stream];
      return { lastSeq, ackedUpTo, ackedAt };
    };
    return {
      time: Date.now(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      disk: { path: this.loaded.dataDir, ...disk },
      memory: {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        systemFreeBytes: freemem(),
        systemTotalBytes: totalmem(),
      },
      cloud: {
        connected: sync.connected,
        lastConnectedAt: sync.lastConnectedAt,
        lastError: sync.lastDisconnectError,
        backlog: { alarms: backlog('alarms'), readings: backlog('readings') },
      },
      clock: { now: Date.now(), skewMs: sync.clockSkewMs },
    };
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.jobs?.stop();
    await Promise.allSettled(this.drivers.map((d) => d.stop()));
    if (this.pendingAlarms.length > 0) this.commitAlarms();
    this.writer.close();
    await this.sync.stop();
    this.store.close();
  }
}
