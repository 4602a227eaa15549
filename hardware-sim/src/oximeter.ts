import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatOximeterLine, OXIMETER_EXCEPTIONS } from '@wardgate/shared';
import type { SimDevice } from './device.ts';
import {
  checkSupported,
  type DeviceFault,
  FaultGate,
  type FaultKind,
  type FaultyDevice,
  LINK_FAULTS,
  linkPart,
} from './faults.ts';
import { malformedOximeterLine } from './malformed.ts';
import type { PatientModel } from './physiology.ts';

export interface OximeterSimOptions {
  id: string;
  bedId: string;
  patient: PatientModel;
  host?: string;
  /** 0 lets the OS choose; a restart after stop() keeps the port it got. */
  port?: number;
  intervalMs?: number;
  /** Also expose the stream on a pseudo-terminal (needs socat); its path is stable across restarts. */
  pty?: boolean;
}

/** Bytes queued for socat beyond which lines are dropped, as on a serial line nobody reads. */
const PTY_BACKLOG_LIMIT = 4096;

/** A stable 10-digit serial number from the device id. */
function serialOf(id: string): number {
  let hash = 2166136261;
  for (const ch of id) hash = Math.imul(hash ^ ch.charCodeAt(0), 16777619) >>> 0;
  return hash % 10_000_000_000;
}

/**
 * A pulse oximeter printing one Masimo-style ASCII line per interval, behind a serial device
 * server in TCP-server mode (every connected client gets the stream), and optionally on a pty.
 * The device server's port is a FaultGate, so the link can be made to fail (see setFault).
 */
export class OximeterSim implements SimDevice, FaultyDevice {
  readonly id: string;
  readonly kind = 'oximeter' as const;
  readonly bedId: string;
  readonly supportedFaults: readonly FaultKind[] = [...LINK_FAULTS, 'malformed-line'];
  private readonly patient: PatientModel;
  private readonly gate: FaultGate;
  private currentFault: DeviceFault | null = null;
  private linesEmitted = 0;
  /** The device server's own (private) port, behind the gate. */
  private serverPort = 0;
  private readonly intervalMs: number;
  private readonly usePty: boolean;
  private readonly serial: number;
  private server: net.Server | null = null;
  private readonly clients = new Set<net.Socket>();
  private timer: NodeJS.Timeout | null = null;
  private socat: ChildProcess | null = null;
  private ptyDir: string | null = null;
  private ptyLink: string | null = null;
  private poorSignal = false;
  private sensorOff = false;

  constructor(options: OximeterSimOptions) {
    this.id = options.id;
    this.bedId = options.bedId;
    this.patient = options.patient;
    this.gate = new FaultGate(options.host ?? '127.0.0.1', options.port ?? 0, () => ({
      host: '127.0.0.1',
      port: this.serverPort,
    }));
    this.intervalMs = options.intervalMs ?? 1000;
    this.usePty = options.pty ?? false;
    this.serial = serialOf(options.id);
  }

  /**
   * Sensor off the finger: values print as `---` and EXC carries the sensor-off bit. The
   * patient's `sensor-off` scenario does the same from its onset.
   */
  setSensorOff(on: boolean): void {
    this.sensorOff = on;
  }

  /** Motion or a bad sensor position: values still print, flagged with the low-signal-IQ bit. */
  setPoorSignal(on: boolean): void {
    this.poorSignal = on;
  }

  /** The device server's port, for tests of the link faults. */
  get link(): FaultGate {
    return this.gate;
  }

  get fault(): DeviceFault | null {
    return this.currentFault;
  }

  /**
   * Makes the device misbehave (see DeviceFault) until called with null. Link faults act on the
   * TCP port; on the pty, unplugged and half-open mean silence and garbage means noise.
   */
  setFault(fault: DeviceFault | null): void {
    checkSupported(this, fault);
    this.currentFault = fault;
    this.gate.setFault(linkPart(fault));
  }

  isSensorOff(now = Date.now()): boolean {
    return this.sensorOff || this.patient.isActive('sensor-off', now);
  }

  async start(): Promise<void> {
    if (this.server) return;
    if (this.usePty) await this.startPty();
    const server = net.createServer((socket) => this.accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
      this.serverPort = (server.address() as net.AddressInfo).port;
      await this.gate.start();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.timer = setInterval(() => this.emit(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.gate.stop();
    const server = this.server;
    this.server = null;
    for (const socket of this.clients) socket.destroy();
    this.clients.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.stopPty();
  }

  address(): Record<string, string | number> {
    const { host, port } = this.gate.address;
    const a: Record<string, string | number> = { host, port };
    if (this.ptyLink) a.pty = this.ptyLink;
    return a;
  }

  /** The line the device prints now. */
  line(now = Date.now()): string {
    if (this.isSensorOff(now)) {
      return formatOximeterLine({
        time: now,
        serial: this.serial,
        spo2: null,
        pulseRate: null,
        perfusionIndex: null,
        exceptions: OXIMETER_EXCEPTIONS.sensorOff,
      });
    }
    const v = this.patient.vitals(now);
    return formatOximeterLine({
      time: now,
      serial: this.serial,
      spo2: v.spo2,
      pulseRate: v.pulseRate,
      perfusionIndex: v.perfusionIndex,
      exceptions:
        (v.perfusionIndex < 0.5 ? OXIMETER_EXCEPTIONS.lowPerfusion : 0) |
        (this.poorSignal ? OXIMETER_EXCEPTIONS.lowSignalIq : 0),
    });
  }

  private accept(socket: net.Socket): void {
    this.clients.add(socket);
    // The device only talks; what a client sends is ignored, as on a one-way RS-232 output.
    socket.on('data', () => {});
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.clients.delete(socket));
  }

  private emit(): void {
    const fault = this.currentFault?.kind;
    const line =
      fault === 'malformed-line'
        ? malformedOximeterLine(this.line(), this.linesEmitted)
        : this.line();
    this.linesEmitted++;
    for (const socket of this.clients) if (socket.writable) socket.write(line);
    const stdin = this.socat?.stdin;
    if (!stdin?.writable || stdin.writableLength >= PTY_BACKLOG_LIMIT) return;
    if (fault === 'garbage') stdin.write(randomBytes(line.length));
    else if (!this.ptySilent()) stdin.write(line);
  }

  /** On the pty a lost device is simply silence: there is no connection to refuse or hang. */
  private ptySilent(): boolean {
    const fault = this.currentFault?.kind;
    return fault === 'unplugged' || fault === 'half-open' || this.gate.isUnplugged;
  }

  private async startPty(): Promise<void> {
    // The directory, and so the pty's link path, stays the same across stop() and start().
    if (this.ptyDir) await mkdir(this.ptyDir, { recursive: true });
    else this.ptyDir = await mkdtemp(join(tmpdir(), 'wardgate-oxi-'));
    const link = join(this.ptyDir, `oxi-${this.id}`);
    const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${link}`, '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    this.socat = child;
    child.stdin?.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        let log = '';
        const timer = setTimeout(
          () => reject(new Error(`socat gave no pty within 5 s: ${log}`)),
          5000,
        );
        const done = (error?: Error) => {
          clearTimeout(timer);
          child.stderr?.off('data', onLog);
          child.off('error', onError);
          child.off('exit', onExit);
          if (error) reject(error);
          else resolve();
        };
        const onLog = (data: Buffer) => {
          log += data.toString();
          if (/PTY is \S+/.test(log)) done();
        };
        const onError = (error: NodeJS.ErrnoException) =>
          done(
            error.code === 'ENOENT'
              ? new Error(`${this.id}: pty: true needs socat, which is not installed`)
              : new Error(`${this.id}: cannot run socat: ${error.message}`),
          );
        const onExit = (code: number | null) =>
          done(new Error(`${this.id}: socat exited (${code}) before making a pty: ${log.trim()}`));
        child.stderr?.on('data', onLog);
        child.once('error', onError);
        child.once('exit', onExit);
      });
    } catch (error) {
      await this.stopPty();
      throw error;
    }
    child.stderr?.resume();
    this.ptyLink = link;
  }

  private async stopPty(): Promise<void> {
    const child = this.socat;
    this.socat = null;
    this.ptyLink = null;
    if (child && child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
    if (this.ptyDir) await rm(this.ptyDir, { recursive: true, force: true });
  }
}
