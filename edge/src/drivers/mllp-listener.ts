import net from 'node:net';
import {
  type AckCode,
  buildAck,
  type DeviceKind,
  type DeviceState,
  extractAlarm,
  extractObservations,
  frameMllp,
  type Hl7Message,
  MllpDecoder,
  parseHl7,
  type ReadingInput,
  sniffMsh,
} from '@wardgate/shared';
import type { DeviceAlarmSignal, DeviceStats, Driver, DriverSink } from './types.ts';

export interface MllpDeviceConfig {
  id: string;
  bed: string;
  /** Offline after this long without a message; default 10 s. */
  silentAfterSeconds?: number;
  kind?: DeviceKind;
}

export interface MllpListenerOptions {
  /** Default 0.0.0.0. */
  host?: string;
  /** 0 lets the OS choose; read the bound port from address(). */
  port: number;
  devices: MllpDeviceConfig[];
  maxFrameBytes?: number;
}

interface DeviceEntry {
  config: MllpDeviceConfig;
  state: DeviceState;
  /** Whether the sink has been told the current state (the initial offline is only assumed). */
  announced: boolean;
  lastContact: number | null;
  messages: number;
  errors: number;
  lastError: string | null;
  connects: number;
  peer: string | null;
  silenceTimer: NodeJS.Timeout | null;
}

interface Connection {
  socket: net.Socket;
  decoder: MllpDecoder;
  /** The configured device last identified on this connection, for attributing framing errors. */
  deviceId: string | null;
  /** Messages of one connection are answered one after another, in the order they came. */
  replies: Promise<void>;
}

interface Reply {
  code: AckCode;
  text?: string;
  errorCode?: number;
  /**
   * The message carried something usable (observations, an alarm report): only such messages
   * keep a device online. A device sending nothing but broken messages goes offline like a
   * silent one, because the bed's vitals stop all the same.
   */
  usable: boolean;
}

/**
 * HL7 v2 over MLLP listener (IHE PCD-01 device observation consumer, PCD-04 alert consumer):
 * monitors connect and push ORU^R01 and ORU^R40; each message is answered with an ACK. One listener serves many devices, each known by
 * MSH-3 (or OBX-18) and mapped to its bed by configuration.
 */
export class MllpListenerDriver implements Driver {
  readonly type = 'hl7-mllp';
  readonly deviceIds: readonly string[];
  /** Errors no configured device can be blamed for (unknown senders, unparsable first frames). */
  unattributedErrors = 0;
  lastUnattributedError: string | null = null;

  private readonly host: string;
  private readonly port: number;
  private readonly maxFrameBytes: number | undefined;
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly connections = new Set<Connection>();
  private server: net.Server | null = null;
  private sink: DriverSink | null = null;
  private bound: { host: string; port: number } | null = null;

  constructor(options: MllpListenerOptions) {
    this.host = options.host ?? '0.0.0.0';
    this.port = options.port;
    this.maxFrameBytes = options.maxFrameBytes;
    for (const config of options.devices) {
      if (this.devices.has(config.id))
        throw new Error(`hl7-mllp: device ${config.id} configured twice`);
      this.devices.set(config.id, {
        config,
        state: 'offline',
        announced: false,
        lastContact: null,
        messages: 0,
        connects: 0,
        errors: 0,
        lastError: null,
        peer: null,
        silenceTimer: null,
      });
    }
    this.deviceIds = [...this.devices.keys()];
  }

  async start(sink: DriverSink): Promise<void> {
    if (this.server) throw new Error('hl7-mllp listener already started');
    this.sink = sink;
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => {
      for (const id of this.deviceIds) this.recordError(id, error);
    });
    const address = server.address() as net.AddressInfo;
    this.bound = { host: address.address, port: address.port };
    // A device that never sends goes offline after its silence period like any other.
    for (const entry of this.devices.values()) this.armSilence(entry);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const entry of this.devices.values()) {
      if (entry.silenceTimer) clearTimeout(entry.silenceTimer);
      entry.silenceTimer = null;
    }
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const conn of this.connections) conn.socket.destroy();
    await closed;
    this.connections.clear();
  }

  /** The bound address after start (the real port when configured with 0). */
  address(): { host: string; port: number } {
    if (!this.bound) throw new Error('hl7-mllp listener is not started');
    return { ...this.bound };
  }

  stats(): DeviceStats[] {
    const where = this.bound
      ? `${this.bound.host}:${this.bound.port}`
      : `${this.host}:${this.port}`;
    return [...this.devices.values()].map((e) => ({
      deviceId: e.config.id,
      kind: e.config.kind ?? 'monitor',
      state: e.state,
      lastContact: e.lastContact,
      messages: e.messages,
      connectAttempts: e.connects,
      errors: e.errors,
      lastError: e.lastError,
      detail: `hl7-mllp listener ${where}${e.peer ? ` from ${e.peer}` : ''}`,
    }));
  }

  private accept(socket: net.Socket): void {
    const conn: Connection = {
      socket,
      decoder: new MllpDecoder({ maxFrameBytes: this.maxFrameBytes }),
      deviceId: null,
      replies: Promise.resolve(),
    };
    this.connections.add(conn);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (error) => {
      // A reset link is a lost connection: the device is offline until it sends again.
      if (conn.deviceId) this.setOffline(conn.deviceId, `connection lost: ${error.message}`);
    });
    socket.on('close', () => this.connections.delete(conn));
  }

  private onData(conn: Connection, chunk: Buffer): void {
    for (const event of conn.decoder.push(chunk)) {
      if (event.kind === 'error') {
        this.recordError(conn.deviceId, event.error);
        continue;
      }
      conn.replies = conn.replies.then(async () => {
        const reply = await this.handleFrame(conn, event.text);
        if (!conn.socket.destroyed) conn.socket.write(frameMllp(reply));
      });
    }
  }

  /** Handles one HL7 message and returns the ACK to send back. */
  private async handleFrame(conn: Connection, text: string): Promise<string> {
    let msg: Hl7Message;
    try {
      msg = parseHl7(text);
    } catch (error) {
      const sniffed = sniffMsh(text);
      const known = sniffed && this.devices.has(sniffed.sendingApp) ? sniffed.sendingApp : null;
      const deviceId = known ?? conn.deviceId;
      this.recordError(deviceId, new Error(`unparsable HL7 message: ${(error as Error).message}`));
      return buildAck(
        { controlId: sniffed?.controlId ?? '', sendingApp: sniffed?.sendingApp },
        'AR',
        (error as Error).message,
        { errorCode: 102 },
      );
    }
    const ack = (reply: Reply) =>
      buildAck(msg, reply.code, reply.text, { errorCode: reply.errorCode });

    const deviceId = this.identify(msg);
    if (!deviceId) {
      const claimed = msg.get('MSH', 3) || '(none)';
      const text = `unknown device "${claimed}": not configured on this gateway`;
      this.recordError(null, new Error(text));
      return ack({ code: 'AR', text, errorCode: 204, usable: false });
    }
    const entry = this.devices.get(deviceId)!;
    if (conn.deviceId !== deviceId) entry.connects++;
    conn.deviceId = deviceId;
    entry.peer = `${conn.socket.remoteAddress}:${conn.socket.remotePort}`;
    const reply = await this.handleMessage(entry, msg);
    if (reply.usable) this.contact(entry);
    return ack(reply);
  }

  private async handleMessage(entry: DeviceEntry, msg: Hl7Message): Promise<Reply> {
    const id = entry.config.id;
    switch (msg.type) {
      case 'ORU^R01':
        return this.handleObservations(entry, msg);
      case 'ORU^R40':
        return this.handleAlarm(entry, msg);
      default: {
        const text = `unsupported message type ${msg.type}`;
        this.recordError(id, new Error(`${text} from ${id}`));
        return { code: 'AR', text, errorCode: 200, usable: false };
      }
    }
  }

  /** Answers only once the readings are committed: an AA means the gateway holds them. */
  private async handleObservations(entry: DeviceEntry, msg: Hl7Message): Promise<Reply> {
    const gatewayTime = Date.now();
    const content = extractObservations(msg);
    const batch: ReadingInput[] = content.observations.map((o) => ({
      deviceId: entry.config.id,
      bedId: entry.config.bed,
      parameter: o.parameter,
      value: o.value,
      unit: o.unit,
      deviceTime: o.time,
      gatewayTime,
      quality: 'valid',
    }));
    if (batch.length && !(await this.sink?.readings(batch))) {
      const text = 'the gateway could not store the observations; send them again';
      this.recordError(entry.config.id, new Error(`ORU^R01 ${content.controlId}: ${text}`));
      return { code: 'AE', text, errorCode: 207, usable: true };
    }
    if (content.problems.length === 0) return { code: 'AA', usable: true };
    const usable = batch.length > 0;
    const text = content.problems.join('; ');
    this.recordError(entry.config.id, new Error(`ORU^R01 ${content.controlId}: ${text}`));
    return { code: 'AE', text, errorCode: 103, usable };
  }

  /** An IHE PCD-04 alarm report: handed to the sink as the device's own alarm signal. */
  private handleAlarm(entry: DeviceEntry, msg: Hl7Message): Reply {
    const id = entry.config.id;
    let content: ReturnType<typeof extractAlarm>;
    try {
      content = extractAlarm(msg);
    } catch (error) {
      const text = (error as Error).message;
      this.recordError(id, new Error(`from ${id}: ${text}`));
      return { code: 'AE', text, errorCode: 101, usable: false };
    }
    const a = content.alarm;
    const signal: DeviceAlarmSignal = {
      deviceId: id,
      bedId: entry.config.bed,
      condition: a.condition,
      priority: a.priority,
      kind: a.kind,
      active: a.phase !== 'end',
      time: content.time,
    };
    if (a.parameter !== undefined) signal.parameter = a.parameter;
    if (a.value !== undefined) signal.value = a.value;
    if (a.limit !== undefined) signal.limit = a.limit;
    if (a.message !== undefined) signal.message = a.message;
    this.sink?.deviceAlarm(signal);
    return { code: 'AA', usable: true };
  }

  /** MSH-3 namespace id, else the first OBX-18 naming a configured device. */
  private identify(msg: Hl7Message): string | null {
    const sender = msg.get('MSH', 3);
    if (this.devices.has(sender)) return sender;
    for (const obx of msg.segments('OBX')) {
      const equipment = msg.get(obx, 18);
      if (this.devices.has(equipment)) return equipment;
    }
    return null;
  }

  private contact(entry: DeviceEntry): void {
    entry.messages++;
    entry.lastContact = Date.now();
    if (entry.state !== 'online') {
      entry.state = 'online';
      entry.announced = true;
      this.sink?.status(entry.config.id, 'online');
    }
    this.armSilence(entry);
  }

  private armSilence(entry: DeviceEntry): void {
    if (entry.silenceTimer) clearTimeout(entry.silenceTimer);
    const seconds = entry.config.silentAfterSeconds ?? 10;
    entry.silenceTimer = setTimeout(() => {
      entry.silenceTimer = null;
      const since = entry.lastContact === null ? 'since the listener started' : '';
      this.setOffline(entry.config.id, `no usable message for ${seconds} s ${since}`.trim());
    }, seconds * 1000);
  }

  private setOffline(deviceId: string, reason: string): void {
    const entry = this.devices.get(deviceId);
    if (!entry || (entry.state === 'offline' && entry.announced)) return;
    entry.state = 'offline';
    entry.announced = true;
    this.sink?.status(deviceId, 'offline', reason);
  }

  private recordError(deviceId: string | null, error: Error): void {
    const entry = deviceId ? this.devices.get(deviceId) : undefined;
    if (entry) {
      entry.errors++;
      entry.lastError = error.message;
    } else {
      this.unattributedErrors++;
      this.lastUnattributedError = error.message;
    }
    this.sink?.frameError(entry ? entry.config.id : null, error);
  }
}
