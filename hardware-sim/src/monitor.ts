import net from 'node:net';
import { buildOru, frameMllp, MllpDecoder, parseHl7, readAck } from '@wardgate/shared';
import type { SimDevice } from './device.ts';
import type { PatientModel, Vitals } from './physiology.ts';

/** The nine parameters a monitor reports, by MDC reference id, and where the patient model has them. */
const MONITOR_VITALS: readonly [string, keyof Vitals][] = [
  ['MDC_ECG_HEART_RATE', 'heartRate'],
  ['MDC_PULS_OXIM_SAT_O2', 'spo2'],
  ['MDC_PULS_OXIM_PULS_RATE', 'pulseRate'],
  ['MDC_RESP_RATE', 'respRate'],
  ['MDC_PRESS_BLD_NONINV_SYS', 'nibpSys'],
  ['MDC_PRESS_BLD_NONINV_DIA', 'nibpDia'],
  ['MDC_PRESS_BLD_NONINV_MEAN', 'nibpMean'],
  ['MDC_TEMP_BODY', 'temperature'],
  ['MDC_AWAY_CO2_ET', 'etco2'],
];

export interface PatientMonitorOptions {
  id: string;
  bedId: string;
  patient: PatientModel;
  /** The gateway's HL7/MLLP listener. */
  gateway: { host: string; port: number };
  /** How often an ORU^R01 is sent (ms); default 1000. */
  intervalMs?: number;
  /** How long to wait for the ACK before sending again (ms); default 5000. */
  ackTimeoutMs?: number;
  /** Reconnect backoff bounds (ms); default 250 doubling to 10 000. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface MonitorCounters {
  /** ORU^R01 messages written to the gateway. */
  sent: number;
  /** Answered AA (or CA). */
  acked: number;
  /** Answered AE/AR (or CE/CR). */
  rejected: number;
  /** No matching ACK within ackTimeoutMs. */
  timeouts: number;
  /** ACKs whose MSA-2 matched no waiting message, and frames that were no ACK at all. */
  unmatched: number;
  connects: number;
  connectFailures: number;
}

/**
 * A bedside patient monitor acting as an IHE PCD-01 device observation reporter: it connects
 * to the gateway's MLLP listener and pushes one ORU^R01 per interval, one at a time, each
 * waiting for its ACK; it reconnects with exponential backoff when the gateway is away.
 */
export class PatientMonitorSim implements SimDevice {
  readonly id: string;
  readonly kind = 'monitor' as const;
  readonly bedId: string;
  readonly counters: MonitorCounters = {
    sent: 0,
    acked: 0,
    rejected: 0,
    timeouts: 0,
    unmatched: 0,
    connects: 0,
    connectFailures: 0,
  };
  /** The last negative ACK (code and error text), for logs and tests. */
  lastRejection: { code: string; text: string } | null = null;
  lastError: string | null = null;

  private readonly patient: PatientModel;
  private readonly gateway: { host: string; port: number };
  private readonly intervalMs: number;
  private readonly ackTimeoutMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly controlPrefix = Date.now().toString(36);
  private seq = 0;
  private running = false;
  private socket: net.Socket | null = null;
  private connected = false;
  private decoder = new MllpDecoder();
  private sendTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private pending: { controlId: string; timer: NodeJS.Timeout } | null = null;

  constructor(options: PatientMonitorOptions) {
    this.id = options.id;
    this.bedId = options.bedId;
    this.patient = options.patient;
    this.gateway = options.gateway;
    this.intervalMs = options.intervalMs ?? 1000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.reconnectMinMs = options.reconnectMinMs ?? 250;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 10_000;
    this.backoffMs = this.reconnectMinMs;
  }

  /** Starts connecting; resolves at once, the monitor keeps retrying until the gateway answers. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopSending();
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
    }
    this.socket = null;
  }

  address(): Record<string, string | number> {
    return { gateway: `${this.gateway.host}:${this.gateway.port}` };
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private connect(): void {
    const socket = net.connect({ host: this.gateway.host, port: this.gateway.port });
    this.socket = socket;
    this.decoder = new MllpDecoder();
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connected = true;
      this.counters.connects++;
      this.backoffMs = this.reconnectMinMs;
      this.sendObservations();
      this.sendTimer = setInterval(() => this.sendObservations(), this.intervalMs);
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.lastError = error.message;
      if (!this.connected) this.counters.connectFailures++;
    });
    socket.on('close', () => {
      this.connected = false;
      this.stopSending();
      if (this.socket === socket) this.socket = null;
      if (this.running) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.running) this.connect();
    }, delay);
  }

  private stopSending(): void {
    if (this.sendTimer) clearInterval(this.sendTimer);
    this.sendTimer = null;
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = null;
  }

  /** One ORU^R01 with the nine vitals, unless the previous message still waits for its ACK. */
  private sendObservations(): void {
    const socket = this.socket;
    if (!socket || !this.connected || this.pending) return;
    const now = Date.now();
    const vitals = this.patient.vitals(now);
    const controlId = `${this.controlPrefix}-${++this.seq}`;
    const message = buildOru({
      controlId,
      sendingApp: this.id,
      bedId: this.bedId,
      time: now,
      observations: MONITOR_VITALS.map(([parameter, key]) => ({ parameter, value: vitals[key] })),
    });
    const timer = setTimeout(() => {
      this.counters.timeouts++;
      this.pending = null;
    }, this.ackTimeoutMs);
    this.pending = { controlId, timer };
    this.counters.sent++;
    socket.write(frameMllp(message));
  }

  private onData(chunk: Buffer): void {
    for (const event of this.decoder.push(chunk)) {
      if (event.kind === 'error') {
        this.lastError = event.error.message;
        continue;
      }
      let ack: { code: string; controlId: string; text: string };
      try {
        ack = readAck(parseHl7(event.text));
      } catch (error) {
        this.lastError = (error as Error).message;
        this.counters.unmatched++;
        continue;
      }
      if (!this.pending || ack.controlId !== this.pending.controlId) {
        this.counters.unmatched++;
        continue;
      }
      clearTimeout(this.pending.timer);
      this.pending = null;
      if (ack.code === 'AA' || ack.code === 'CA') {
        this.counters.acked++;
      } else {
        this.counters.rejected++;
        this.lastRejection = { code: ack.code, text: ack.text };
      }
    }
  }
}
