import { Socket } from 'node:net';
import {
  type AlarmBitDef,
  type DeviceKind,
  type DeviceProfile,
  type DeviceState,
  decodeAlarmBits,
  decodeRegister,
  type ReadingInput,
  type ReadSpan,
  type RegisterTable,
  registerSpan,
  registerWidth,
} from '@wardgate/shared';
import modbusSerial from 'modbus-serial';
import type { DeviceStats, Driver, DriverSink } from './types.ts';

export interface ModbusTcpDriverOptions {
  device: { id: string; bed: string; kind: DeviceKind };
  host: string;
  port: number;
  unitId: number;
  profile: DeviceProfile;
  pollIntervalMs: number;
  /** Per request (and per connect attempt). */
  timeoutMs?: number;
  /** Reconnect delay: starts at initialMs, doubles up to maxMs, resets on contact. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A connected device that has not answered for this long is offline; the driver reconnects. */
  silentAfterSeconds?: number;
}

// The package is CommonJS: its module object is the client class, also exported as `default`.
const ModbusRTU = modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

type Words = Record<RegisterTable, Map<number, number>>;

interface Connection {
  socket: Socket;
  client: ModbusClient;
  connectedAt: number;
}

const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target failed to respond',
};

/**
 * Polls one Modbus TCP device with the register map of its profile. One connection and one client
 * per device, so a slow device only delays itself. Polls never overlap: a tick that finds the
 * previous poll still waiting for answers is skipped.
 */
export class ModbusTcpDriver implements Driver {
  readonly type = 'modbus-tcp';
  readonly deviceIds: readonly string[];
  private readonly options: ModbusTcpDriverOptions;
  private readonly spans: ReadSpan[];
  private readonly timeoutMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly silentAfterMs: number;
  private sink: DriverSink | null = null;
  private running = false;
  private connection: Connection | null = null;
  private connecting: Promise<void> | null = null;
  /** Polls still waiting for answers; one per connection at most. */
  private readonly polls = new Map<Connection, Promise<void>>();
  private pollTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private reported: DeviceState | null = null;
  private readonly activeAlarms = new Set<number>();
  private state: DeviceState = 'offline';
  private lastContact: number | null = null;
  private messages = 0;
  private errors = 0;
  private skippedPolls = 0;
  private connectAttempts = 0;
  private lastError: string | null = null;

  constructor(options: ModbusTcpDriverOptions) {
    this.options = options;
    this.deviceIds = [options.device.id];
    this.spans = registerSpan(options.profile);
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.backoffInitialMs = options.backoff?.initialMs ?? 250;
    this.backoffMaxMs = options.backoff?.maxMs ?? 10_000;
    this.backoffMs = this.backoffInitialMs;
    this.silentAfterMs = (options.silentAfterSeconds ?? 10) * 1000;
  }

  private get where(): string {
    const o = this.options;
    return `${o.host}:${o.port} unit ${o.unitId}`;
  }

  /** Resolves after the first connection attempt; an unreachable device is retried in the background. */
  async start(sink: DriverSink): Promise<void> {
    if (this.running) return;
    this.sink = sink;
    this.running = true;
    this.pollTimer = setInterval(() => this.tick(), this.options.pollIntervalMs);
    await this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.pollTimer = null;
    this.reconnectTimer = null;
    await this.connecting;
    const connection = this.connection;
    this.connection = null;
    if (connection) await closeSocket(connection.socket);
    // A request in flight ends at its timeout at the latest.
    await Promise.all(this.polls.values());
    this.activeAlarms.clear();
  }

  stats(): DeviceStats[] {
    const { device, profile } = this.options;
    return [
      {
        deviceId: device.id,
        kind: device.kind,
        state: this.state,
        lastContact: this.lastContact,
        messages: this.messages,
        errors: this.errors,
        lastError: this.lastError,
        connectAttempts: this.connectAttempts,
        detail: `modbus-tcp ${this.where} (${profile.id})${
          this.skippedPolls ? `, ${this.skippedPolls} polls skipped` : ''
        }`,
      },
    ];
  }

  private connect(): Promise<void> {
    this.connecting ??= this.openConnection().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async openConnection(): Promise<void> {
    const { host, port, unitId } = this.options;
    this.connectAttempts++;
    const socket = new Socket();
    const client = new ModbusRTU();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`connect to ${host}:${port} timed out after ${this.timeoutMs} ms`));
        }, this.timeoutMs);
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        socket.connect({ host, port });
      });
      if (!this.running) return void (await closeSocket(socket));
      // modbus-serial takes over our connected socket (whose close we can watch); its request
      // timeout is set afterwards so that it does not become an idle timeout on the socket.
      await client.connectTCP(host, { port, socket });
    } catch (error) {
      socket.destroy();
      if (!this.running) return;
      this.setOffline(`cannot connect to ${host}:${port}: ${(error as Error).message}`);
      this.scheduleReconnect();
      return;
    }
    client.setID(unitId);
    client.setTimeout(this.timeoutMs);
    const connection: Connection = { socket, client, connectedAt: Date.now() };
    socket.on('error', (error) => this.connectionLost(connection, error.message));
    socket.on('close', () => this.connectionLost(connection, 'connection closed by the device'));
    client.on('error', (error: unknown) => this.connectionLost(connection, String(error)));
    this.connection = connection;
    this.tick();
  }

  private connectionLost(connection: Connection, reason: string): void {
    if (this.connection !== connection) return;
    this.connection = null;
    connection.socket.destroy();
    if (!this.running) return;
    this.setOffline(`${this.where}: ${reason}`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoffMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.running && !this.connection) void this.connect();
    }, delay);
  }

  private tick(): void {
    const connection = this.connection;
    if (!this.running || !connection) return;
    if (this.polls.has(connection)) {
      this.skippedPolls++;
      return;
    }
    const heard = Math.max(connection.connectedAt, this.lastContact ?? 0);
    if (Date.now() - heard > this.silentAfterMs) {
      this.connectionLost(connection, `no usable answer for ${this.silentAfterMs / 1000} s`);
      return;
    }
    // A poll left waiting on a lost connection does not hold up the new connection's polls.
    this.polls.set(
      connection,
      this.poll(connection).finally(() => this.polls.delete(connection)),
    );
  }

  private async poll(connection: Connection): Promise<void> {
    const time = Date.now();
    const words: Words = { holding: new Map(), input: new Map() };
    // Only registers read count as contact: a device answering every read with an exception
    // goes offline like a silent one, because its values stop all the same.
    let answered = false;
    for (const span of this.spans) {
      try {
        const { client } = connection;
        const result = await readSpan(client, span);
        answered = true;
        if (result.data.length !== span.count) {
          throw new Error(`${result.data.length} registers instead of ${span.count}`);
        }
        result.data.forEach((w, i) => {
          words[span.table].set(span.start + i, w);
        });
      } catch (error) {
        if (this.connection !== connection) return;
        const { message, timeout } = describeError(error);
        this.protocolError(
          `${this.where}: reading ${span.table} ${span.start}+${span.count}: ${message}`,
        );
        // A device that does not answer would make every following read wait too.
        if (timeout) break;
      }
    }
    if (this.connection !== connection || !this.running) return;
    if (answered) this.contact(time);
    const batch = this.decode(words, time);
    if (batch.length) {
      this.messages++;
      this.sink?.readings(batch);
    }
    this.updateAlarms(words, batch, time);
  }

  private decode(words: Words, time: number): ReadingInput[] {
    const { device, profile } = this.options;
    const batch: ReadingInput[] = [];
    for (const reg of profile.registers) {
      const raw: number[] = [];
      for (let w = 0; w < registerWidth(reg.type); w++) {
        const word = words[reg.table].get(reg.address + w);
        if (word !== undefined) raw.push(word);
      }
      if (raw.length < registerWidth(reg.type)) continue; // its span failed, already reported
      try {
        batch.push({
          deviceId: device.id,
          bedId: device.bed,
          parameter: reg.parameter,
          value: decodeRegister(reg, raw, profile.wordOrder),
          unit: reg.unit,
          deviceTime: time,
          gatewayTime: time,
          quality: 'valid',
        });
      } catch (error) {
        this.protocolError(`${this.where}: ${(error as Error).message}`);
      }
    }
    return batch;
  }

  private updateAlarms(words: Words, batch: ReadingInput[], time: number): void {
    const { device, profile } = this.options;
    const alarms = profile.alarms;
    const word = alarms && words[alarms.table].get(alarms.address);
    if (!alarms || word === undefined) return;
    const set = new Set(decodeAlarmBits(profile, word).map((b) => b.bit));
    for (const def of alarms.bits) {
      const active = set.has(def.bit);
      if (active === this.activeAlarms.has(def.bit)) continue;
      if (active) this.activeAlarms.add(def.bit);
      else this.activeAlarms.delete(def.bit);
      this.sink?.deviceAlarm({
        deviceId: device.id,
        bedId: device.bed,
        condition: def.condition,
        parameter: def.parameter,
        priority: def.priority,
        kind: def.kind,
        active,
        value: alarmValue(def, batch),
        message: def.message,
        time,
      });
    }
  }

  private contact(time: number): void {
    this.lastContact = time;
    this.backoffMs = this.backoffInitialMs;
    this.setState('online');
  }

  private setOffline(error: string): void {
    this.lastError = error;
    this.setState('offline', error);
  }

  private setState(state: DeviceState, error?: string): void {
    this.state = state;
    if (this.reported === state) return;
    this.reported = state;
    this.sink?.status(this.options.device.id, state, error);
  }

  private protocolError(message: string): void {
    this.errors++;
    this.lastError = message;
    this.sink?.frameError(this.options.device.id, new Error(message));
  }
}

/**
 * One read; afterwards the client forgets its finished requests. modbus-serial keeps each
 * request's callbacks and result in `_transactions` until its id comes round again, ~15 MB across
 * a 120-device ward; reads here are sequential per connection, so once one ends none is in flight,
 * and a late answer to a timed-out read then finds no request and is ignored, as it should be.
 */
async function readSpan(client: ModbusClient, span: ReadSpan) {
  try {
    return span.table === 'holding'
      ? await client.readHoldingRegisters(span.start, span.count)
      : await client.readInputRegisters(span.start, span.count);
  } finally {
    const transactions = (client as unknown as { _transactions?: Record<string, unknown> })
      ._transactions;
    if (transactions) for (const id of Object.keys(transactions)) delete transactions[id];
  }
}

function alarmValue(def: AlarmBitDef, batch: ReadingInput[]): number | undefined {
  return def.parameter ? batch.find((r) => r.parameter === def.parameter)?.value : undefined;
}

function describeError(error: unknown): { message: string; timeout: boolean } {
  const e = error as { message?: string; modbusCode?: number; errno?: string };
  if (typeof e.modbusCode === 'number') {
    const name = EXCEPTION_NAMES[e.modbusCode] ?? 'unknown exception';
    return { message: `Modbus exception ${e.modbusCode} (${name})`, timeout: false };
  }
  if (e.errno === 'ETIMEDOUT') return { message: 'no answer (timed out)', timeout: true };
  return { message: e.message ?? String(error), timeout: false };
}

function closeSocket(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.destroy();
  });
}
