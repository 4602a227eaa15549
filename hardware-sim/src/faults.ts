import { randomBytes } from 'node:crypto';
import net from 'node:net';

/**
 * What can go wrong with a bedside device, as a gateway on a real ward meets it.
 *
 * - unplugged: the device is gone. A listening device refuses connections; a monitor hangs up
 *   and stops dialling.
 * - half-open: the connection stays up but nothing comes back, as when a device hangs or a cable
 *   is pulled beyond a switch (no FIN, no RST ever arrives).
 * - slow: every answer is held back `delayMs`.
 * - garbage: line noise instead of (or between) real frames.
 * - modbus-exception: every read answered with Modbus exception `code` (e.g. 4 device failure,
 *   6 busy).
 * - truncated-hl7: HL7 messages cut off mid-segment; malformed-hl7: well framed but not valid HL7
 *   (broken MSH, non-numeric OBX values, wrong message type).
 * - malformed-line: serial lines that do not follow the oximeter's line format.
 * - flapping: unplugged and back, over and over (`upMs` connected, `downMs` gone).
 */
export type DeviceFault =
  | { kind: 'unplugged' }
  | { kind: 'half-open' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'garbage' }
  | { kind: 'modbus-exception'; code: number }
  | { kind: 'truncated-hl7' }
  | { kind: 'malformed-hl7' }
  | { kind: 'malformed-line' }
  | { kind: 'flapping'; upMs: number; downMs: number };

export type FaultKind = DeviceFault['kind'];

export const FAULT_KINDS: readonly FaultKind[] = [
  'unplugged',
  'half-open',
  'slow',
  'garbage',
  'modbus-exception',
  'truncated-hl7',
  'malformed-hl7',
  'malformed-line',
  'flapping',
];

/** A device that can be made to misbehave at run time; `null` makes it healthy again. */
export interface FaultyDevice {
  readonly id: string;
  readonly supportedFaults: readonly FaultKind[];
  setFault(fault: DeviceFault | null): void;
  readonly fault: DeviceFault | null;
}

/** Throws unless `device` can simulate `fault` (null, no fault, always can). */
export function checkSupported(device: FaultyDevice, fault: DeviceFault | null): void {
  if (fault && !device.supportedFaults.includes(fault.kind))
    throw new Error(
      `${device.id} cannot simulate "${fault.kind}"; it supports ${device.supportedFaults.join(', ')}`,
    );
}

/**
 * Parses `unplugged`, `half-open`, `slow:3000`, `garbage`, `modbus-exception:4`, `truncated-hl7`,
 * `malformed-hl7`, `malformed-line`, `flapping:2000/1000` (up/down ms).
 */
export function parseFault(text: string): DeviceFault {
  const [kind, arg] = text.split(':');
  const number = (value: string | undefined, what: string) => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0)
      throw new Error(`fault "${text}": ${what} must be a whole number`);
    return n;
  };
  switch (kind) {
    case 'unplugged':
    case 'half-open':
    case 'garbage':
    case 'truncated-hl7':
    case 'malformed-hl7':
    case 'malformed-line':
      return { kind };
    case 'slow':
      return { kind, delayMs: number(arg, 'the delay (ms)') };
    case 'modbus-exception':
      return { kind, code: number(arg, 'the exception code') };
    case 'flapping': {
      const [up, down] = (arg ?? '').split('/');
      return { kind, upMs: number(up, 'up ms'), downMs: number(down, 'down ms') };
    }
    default:
      throw new Error(`unknown fault "${text}"; one of ${FAULT_KINDS.join(', ')}`);
  }
}

/**
 * Runs `flapping` on top of a device's own `unplugged`: calls `plugged(false)` and `plugged(true)`
 * in turn until stopped.
 */
export class Flapper {
  private timer: NodeJS.Timeout | null = null;
  private readonly upMs: number;
  private readonly downMs: number;
  private readonly plugged: (on: boolean) => void;

  constructor(upMs: number, downMs: number, plugged: (on: boolean) => void) {
    this.upMs = upMs;
    this.downMs = downMs;
    this.plugged = plugged;
    this.schedule(true);
  }

  private schedule(up: boolean): void {
    this.timer = setTimeout(
      () => {
        this.plugged(!up);
        this.schedule(!up);
      },
      up ? this.upMs : this.downMs,
    );
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

interface GateConnection {
  client: net.Socket;
  device: net.Socket;
}

/** The faults a FaultGate plays itself; the others belong to the device behind it. */
export const LINK_FAULTS: readonly FaultKind[] = [
  'unplugged',
  'half-open',
  'slow',
  'garbage',
  'flapping',
];

/** What of `fault` the device's FaultGate plays: the fault if it is a link fault, else null. */
export function linkPart(fault: DeviceFault | null): DeviceFault | null {
  return fault && LINK_FAULTS.includes(fault.kind) ? fault : null;
}

/**
 * The network port of a listening device (a Modbus TCP device, a serial device server): a TCP
 * relay on the device's public address in front of the device's own server on a private port.
 * Healthy, it passes bytes both ways untouched; with a link fault it refuses, swallows, delays or
 * garbles them.
 */
export class FaultGate {
  private server: net.Server | null = null;
  private readonly connections = new Set<GateConnection>();
  private mode: DeviceFault | null = null;
  private flapper: Flapper | null = null;
  private unplugged = false;
  private started = false;
  private listening: Promise<void> | null = null;
  /** Connections accepted since start, and bytes swallowed while half-open, for tests and logs. */
  accepted = 0;
  swallowedBytes = 0;
  private readonly host: string;
  private port: number;
  private readonly target: () => { host: string; port: number };

  constructor(host: string, port: number, target: () => { host: string; port: number }) {
    this.host = host;
    this.port = port;
    this.target = target;
  }

  get isUnplugged(): boolean {
    return this.unplugged;
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  async start(): Promise<void> {
    this.started = true;
    if (!this.unplugged) await this.listen();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.flapper?.stop();
    this.flapper = null;
    await this.close();
  }

  setFault(fault: DeviceFault | null): void {
    this.flapper?.stop();
    this.flapper = null;
    this.mode = fault;
    if (fault?.kind === 'flapping')
      this.flapper = new Flapper(fault.upMs, fault.downMs, (on) => this.plug(on));
    this.plug(fault?.kind !== 'unplugged');
  }

  private plug(on: boolean): void {
    this.unplugged = !on;
    if (on && this.started) void this.listen().catch(() => {});
    else void this.close();
  }

  private listen(): Promise<void> {
    if (this.server) return this.listening ?? Promise.resolve();
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    this.listening = new Promise<void>((resolve, reject) => {
      server.once('error', (error) => {
        if (this.server === server) this.server = null;
        reject(error);
      });
      server.listen(this.port, this.host, () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
    return this.listening;
  }

  /** Stops listening and drops every connection, as a device losing power does. */
  private async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.listening = null;
    for (const { client, device } of this.connections) {
      client.destroy();
      device.destroy();
    }
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const device = net.connect(this.target());
    const connection = { client, device };
    this.connections.add(connection);
    const end = () => {
      this.connections.delete(connection);
      client.destroy();
      device.destroy();
    };
    client.on('error', end).on('close', end);
    device.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => {
      if (this.mode?.kind === 'half-open') this.swallowedBytes += chunk.length;
      else device.write(chunk);
    });
    device.on('data', (chunk: Buffer) => this.toClient(client, chunk));
  }

  private toClient(client: net.Socket, chunk: Buffer): void {
    const mode = this.mode;
    if (mode?.kind === 'half-open') {
      this.swallowedBytes += chunk.length;
      return;
    }
    if (mode?.kind === 'slow') {
      setTimeout(() => client.writable && client.write(chunk), mode.delayMs);
      return;
    }
    if (mode?.kind === 'garbage') {
      client.write(randomBytes(chunk.length));
      return;
    }
    client.write(chunk);
  }
}
