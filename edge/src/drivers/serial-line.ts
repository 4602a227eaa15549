import net from 'node:net';
import {
  type DeviceKind,
  type DeviceState,
  OXIMETER_EXCEPTIONS,
  OximeterLineSplitter,
  parseOximeterLine,
  type Quality,
  type ReadingInput,
  termFor,
} from '@wardgate/shared';
import { SerialPort } from 'serialport';
import type { DeviceStats, Driver, DriverSink } from './types.ts';

export type SerialLineTransport =
  | { type: 'tcp'; host: string; port: number }
  | { type: 'tty'; path: string; baudRate?: number };

export interface SerialLineDriverOptions {
  device: { id: string; bed: string; kind: DeviceKind };
  transport: SerialLineTransport;
  /** No line for this long → offline (and, over TCP, reconnect). Default 10. */
  silentAfterSeconds?: number;
  /** Offset of the device clock from UTC; its lines carry local time without a zone. */
  utcOffsetMinutes?: number;
  /** Reconnect delay: starts at initialMs, doubles up to maxMs. */
  backoff?: { initialMs?: number; maxMs?: number };
}

const SENSOR_OFF_BITS = OXIMETER_EXCEPTIONS.sensorOff | OXIMETER_EXCEPTIONS.noSensor;
/** Exceptions under which the device still shows values, but of doubtful quality. */
const QUESTIONABLE_BITS =
  OXIMETER_EXCEPTIONS.lowPerfusion |
  OXIMETER_EXCEPTIONS.lowSignalIq |
  OXIMETER_EXCEPTIONS.interference |
  OXIMETER_EXCEPTIONS.ambientLight;
export const SENSOR_OFF_CONDITION = 'WG_SENSOR_OFF';
export const POOR_SIGNAL_CONDITION = 'WG_POOR_SIGNAL';

const FIELDS = [
  { key: 'spo2', mdc: 'MDC_PULS_OXIM_SAT_O2' },
  { key: 'pulseRate', mdc: 'MDC_PULS_OXIM_PULS_RATE' },
  { key: 'perfusionIndex', mdc: 'MDC_PULS_OXIM_PERF_REL' },
] as const;

/** An open byte stream to the device; onClosed fires exactly once, whoever ends it. */
interface Link {
  close(): Promise<void>;
}
interface LinkEvents {
  onData(chunk: Buffer): void;
  onClosed(reason: string): void;
}

function openTcp(host: string, port: number, events: LinkEvents): Link {
  const socket = net.connect({ host, port });
  let reason = 'connection closed by the device';
  let closed = false;
  socket.setKeepAlive(true, 5000);
  socket.on('data', (chunk) => events.onData(chunk));
  socket.on('error', (error) => {
    reason = error.message;
  });
  socket.on('close', () => {
    closed = true;
    events.onClosed(reason);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        socket.once('close', () => resolve());
        socket.destroy();
      }),
  };
}

function openTty(path: string, baudRate: number, events: LinkEvents): Link {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  let reason = `${path} closed`;
  let closed = false;
  let closing = false;
  const waiters: (() => void)[] = [];
  const finish = (why: string) => {
    if (closed) return;
    closed = true;
    events.onClosed(why);
    for (const resolve of waiters.splice(0)) resolve();
  };
  port.on('data', (chunk: Buffer) => events.onData(chunk));
  port.on('error', (error: Error) => {
    reason = error.message;
  });
  port.on('close', (error?: Error) => finish(error ? `${path}: ${error.message}` : reason));
  port.open((error) => {
    if (error) finish(`cannot open ${path}: ${error.message}`);
    else if (closing) port.close((e) => e && finish(e.message));
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        waiters.push(resolve);
        closing = true;
        if (port.isOpen) port.close((e) => e && finish(e.message));
      }),
  };
}

/**
 * A device printing ASCII lines (Masimo-style pulse oximeter), read from a serial device server
 * over TCP or from a local tty. One driver per device.
 */
export class SerialLineDriver implements Driver {
  readonly type: 'serial-tcp' | 'serial';
  readonly deviceIds: readonly string[];
  private readonly device: SerialLineDriverOptions['device'];
  private readonly transport: SerialLineTransport;
  private readonly silentAfterMs: number;
  private readonly utcOffsetMinutes: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly units: Record<(typeof FIELDS)[number]['mdc'], string>;
  private sink: DriverSink | null = null;
  private link: Link | null = null;
  private splitter: OximeterLineSplitter | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private delayMs: number;
  private generation = 0;
  /** Links let go of and still closing. */
  private readonly closing = new Set<Promise<void>>();
  private stopped = true;
  private reported: DeviceState | null = null;
  private readonly activeConditions = new Set<string>();
  private messages = 0;
  private errors = 0;
  private lastError: string | null = null;
  private lastContact: number | null = null;
  private connectAttempts = 0;

  constructor(options: SerialLineDriverOptions) {
    this.device = options.device;
    this.transport = options.transport;
    this.type = options.transport.type === 'tcp' ? 'serial-tcp' : 'serial';
    this.deviceIds = [options.device.id];
    this.silentAfterMs = (options.silentAfterSeconds ?? 10) * 1000;
    this.utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
    this.initialDelayMs = options.backoff?.initialMs ?? 250;
    this.maxDelayMs = options.backoff?.maxMs ?? 10_000;
    this.delayMs = this.initialDelayMs;
    const unit = (mdc: string) => {
      const term = termFor(mdc);
      if (!term) throw new Error(`${mdc} is not in the terminology table`);
      return term.ucum;
    };
    this.units = {
      MDC_PULS_OXIM_SAT_O2: unit('MDC_PULS_OXIM_SAT_O2'),
      MDC_PULS_OXIM_PULS_RATE: unit('MDC_PULS_OXIM_PULS_RATE'),
      MDC_PULS_OXIM_PERF_REL: unit('MDC_PULS_OXIM_PERF_REL'),
    };
    const t = options.transport;
    if (t.type === 'tty' && t.path.length === 0) {
      throw new Error(`${options.device.id}: a tty transport needs a path`);
    }
    if (
      t.type === 'tty' &&
      t.baudRate !== undefined &&
      !(Number.isInteger(t.baudRate) && t.baudRate > 0)
    ) {
      throw new Error(`${options.device.id}: baud rate ${t.baudRate} is not a positive integer`);
    }
  }

  async start(sink: DriverSink): Promise<void> {
    if (!this.stopped) return;
    this.sink = sink;
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    this.release();
    await Promise.all(this.closing);
  }

  stats(): DeviceStats[] {
    return [
      {
        deviceId: this.device.id,
        kind: this.device.kind,
        state: this.reported ?? 'offline',
        lastContact: this.lastContact,
        messages: this.messages,
        errors: this.errors,
        lastError: this.lastError,
        connectAttempts: this.connectAttempts,
        detail: this.detail(),
      },
    ];
  }

  private detail(): string {
    const t = this.transport;
    return t.type === 'tcp'
      ? `serial-tcp ${t.host}:${t.port}`
      : `serial ${t.path} ${t.baudRate ?? 9600} baud`;
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.stopped) return;
    if (this.closing.size > 0) {
      // A tty is opened exclusively: wait until the previous handle is closed.
      void Promise.all(this.closing).then(() => this.connect());
      return;
    }
    // A new connection starts mid-stream: resynchronise on the first full line.
    this.splitter = new OximeterLineSplitter({ onError: (error) => this.frameError(error) });
    // Events of a link the driver has already let go of (silence, stop) are ignored.
    const generation = ++this.generation;
    const events: LinkEvents = {
      onData: (chunk) => generation === this.generation && this.onData(chunk),
      onClosed: (reason) => generation === this.generation && this.onClosed(reason),
    };
    const t = this.transport;
    this.connectAttempts++;
    this.link =
      t.type === 'tcp'
        ? openTcp(t.host, t.port, events)
        : openTty(t.path, t.baudRate ?? 9600, events);
    this.armSilence();
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    for (const line of this.splitter?.push(chunk) ?? []) this.onLine(line);
  }

  /**
   * Only a line that parses counts as contact: a device sending nothing but noise or broken
   * lines goes offline like a silent one, because the bed's values stop all the same.
   */
  private contact(): void {
    this.lastContact = Date.now();
    if (this.reported !== 'online') {
      this.delayMs = this.initialDelayMs;
      this.report('online');
    }
    this.armSilence();
  }

  private onClosed(reason: string): void {
    this.link = null;
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = null;
    if (this.stopped) return;
    this.goOffline(reason);
    this.reconnectTimer = setTimeout(() => this.connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
  }

  private goOffline(reason: string): void {
    this.lastError = reason;
    this.report('offline', reason);
  }

  private armSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.onSilence(), this.silentAfterMs);
  }

  /**
   * A silent link may be half-open (TCP) or a port that vanished without the OS saying so (USB,
   * pty): let it go and connect afresh, with backoff.
   */
  private onSilence(): void {
    this.silenceTimer = null;
    this.release();
    this.onClosed(`no valid line for ${this.silentAfterMs / 1000} s`);
  }

  /** Lets go of the current link: its events are ignored from now on, its close is awaited. */
  private release(): void {
    this.generation++;
    const link = this.link;
    this.link = null;
    if (!link) return;
    const closing: Promise<void> = link.close().finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  private onLine(line: string): void {
    const parsed = parseOximeterLine(line, { utcOffsetMinutes: this.utcOffsetMinutes });
    if (!parsed.ok) {
      const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
      this.frameError(new Error(`bad oximeter line (${parsed.error}): ${shown}`));
      return;
    }
    this.contact();
    this.messages++;
    const gatewayTime = Date.now();
    const sensorOff = (parsed.exceptionBits & SENSOR_OFF_BITS) !== 0;
    this.reportCondition(
      SENSOR_OFF_CONDITION,
      'medium',
      sensorOff,
      sensorOff ? `sensor off (${parsed.exceptions.join(', ')})` : 'sensor back on',
      gatewayTime,
    );
    const poorSignal = !sensorOff && (parsed.exceptionBits & QUESTIONABLE_BITS) !== 0;
    this.reportCondition(
      POOR_SIGNAL_CONDITION,
      'low',
      poorSignal,
      poorSignal ? `poor signal quality (${parsed.exceptions.join(', ')})` : 'signal quality good',
      gatewayTime,
    );
    if (sensorOff) return;
    const quality: Quality = parsed.exceptionBits & QUESTIONABLE_BITS ? 'questionable' : 'valid';
    const batch: ReadingInput[] = [];
    for (const { key, mdc } of FIELDS) {
      const value = parsed[key];
      if (value === null) continue;
      batch.push({
        deviceId: this.device.id,
        bedId: this.device.bed,
        parameter: mdc,
        value,
        unit: this.units[mdc],
        deviceTime: parsed.time,
        gatewayTime,
        quality,
      });
    }
    if (batch.length > 0) this.sink?.readings(batch);
  }

  /** Tells the sink when a technical condition the device reports starts or ends. */
  private reportCondition(
    condition: string,
    priority: 'medium' | 'low',
    active: boolean,
    message: string,
    time: number,
  ): void {
    if (this.activeConditions.has(condition) === active) return;
    if (active) this.activeConditions.add(condition);
    else this.activeConditions.delete(condition);
    this.sink?.deviceAlarm({
      deviceId: this.device.id,
      bedId: this.device.bed,
      condition,
      priority,
      kind: 'technical',
      active,
      message,
      time,
    });
  }

  private frameError(error: Error): void {
    this.errors++;
    this.lastError = error.message;
    this.sink?.frameError(this.device.id, error);
  }

  private report(state: DeviceState, error?: string): void {
    if (this.reported === state) return;
    this.reported = state;
    this.sink?.status(this.device.id, state, error);
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.reconnectTimer = null;
    this.silenceTimer = null;
  }
}
