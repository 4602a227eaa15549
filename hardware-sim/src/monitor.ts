import { randomBytes } from 'node:crypto';
import net from 'node:net';
import {
  type AlarmPriority,
  buildAlarmOru,
  buildOru,
  frameMllp,
  MllpDecoder,
  parseHl7,
  readAck,
} from '@wardgate/shared';
import type { SimDevice } from './device.ts';
import {
  checkSupported,
  type DeviceFault,
  type FaultKind,
  type FaultyDevice,
  Flapper,
} from './faults.ts';
import { malformedHl7, truncatedHl7 } from './malformed.ts';
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

/** The monitor's own alarm checks: a limit on one vital, and how far back it must come to end. */
interface AlarmCheck {
  key: keyof Vitals;
  parameter: string;
  condition: string;
  priority: AlarmPriority;
  limit: number;
  /** 'below': alarm while value < limit; 'above': while value > limit. */
  side: 'below' | 'above';
  /** The alarm ends only once the value is this far back inside the limit (no flapping). */
  hysteresis: number;
  text: string;
}

export const MONITOR_ALARM_CHECKS: readonly AlarmCheck[] = [
  {
    key: 'spo2',
    parameter: 'MDC_PULS_OXIM_SAT_O2',
    condition: 'MDC_EVT_LO',
    priority: 'high',
    limit: 90,
    side: 'below',
    hysteresis: 1,
    text: 'SpO2 low',
  },
  {
    key: 'heartRate',
    parameter: 'MDC_ECG_HEART_RATE',
    condition: 'MDC_EVT_HI',
    priority: 'medium',
    limit: 140,
    side: 'above',
    hysteresis: 3,
    text: 'Heart rate high',
  },
  {
    key: 'heartRate',
    parameter: 'MDC_ECG_HEART_RATE',
    condition: 'MDC_EVT_LO',
    priority: 'high',
    limit: 45,
    side: 'below',
    hysteresis: 3,
    text: 'Heart rate low',
  },
  {
    key: 'respRate',
    parameter: 'MDC_RESP_RATE',
    condition: 'MDC_EVT_APNEA',
    priority: 'high',
    limit: 5,
    side: 'below',
    hysteresis: 1,
    text: 'Apnea',
  },
  {
    key: 'etco2',
    parameter: 'MDC_AWAY_CO2_ET',
    condition: 'MDC_EVT_LO',
    priority: 'medium',
    limit: 10,
    side: 'below',
    hysteresis: 2,
    text: 'etCO2 low',
  },
];

const breached = (check: AlarmCheck, value: number, active: boolean) => {
  const margin = active ? check.hysteresis : 0;
  return check.side === 'below' ? value < check.limit + margin : value > check.limit - margin;
};

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
  /** ORU^R01 answered AA (or CA). */
  acked: number;
  /** ORU^R01 answered AE/AR (or CE/CR). */
  rejected: number;
  /** ORU^R40 alarm reports written to the gateway (resends included). */
  alarmsSent: number;
  /** Of those, with phase start / end (first sends only). */
  alarmStarts: number;
  alarmEnds: number;
  /** ORU^R40 answered AA (or CA). */
  alarmsAcked: number;
  /** ORU^R40 answered AE/AR (or CE/CR). */
  alarmsRejected: number;
  /** No matching ACK within ackTimeoutMs (either message type). */
  timeouts: number;
  /** ACKs whose MSA-2 matched no waiting message, and frames that were no ACK at all. */
  unmatched: number;
  connects: number;
  connectFailures: number;
}

/** One ORU^R40 waiting to be sent (or sent again after an ACK timeout). */
interface QueuedAlarm {
  controlId: string;
  phase: 'start' | 'end';
  message: string;
  resend: boolean;
}

/**
 * A bedside patient monitor acting as an IHE PCD-01 device observation reporter and PCD-04
 * alarm reporter: it connects to the gateway's MLLP listener and pushes one ORU^R01 per
 * interval, and an ORU^R40 whenever one of its own alarm checks starts or ends. One message is
 * in flight at a time, each waiting for its ACK; alarms go ahead of observations. It reconnects
 * with exponential backoff when the gateway is away. See setFault for how it misbehaves.
 */
export class PatientMonitorSim implements SimDevice, FaultyDevice {
  readonly id: string;
  readonly kind = 'monitor' as const;
  readonly bedId: string;
  readonly supportedFaults: readonly FaultKind[] = [
    'unplugged',
    'half-open',
    'garbage',
    'truncated-hl7',
    'malformed-hl7',
    'flapping',
  ];
  readonly counters: MonitorCounters = {
    sent: 0,
    acked: 0,
    rejected: 0,
    alarmsSent: 0,
    alarmStarts: 0,
    alarmEnds: 0,
    alarmsAcked: 0,
    alarmsRejected: 0,
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
  private pending: { controlId: string; timer: NodeJS.Timeout; alarm: QueuedAlarm | null } | null =
    null;
  /** Alarm reports not yet acknowledged or given up, oldest first. */
  private readonly alarmQueue: QueuedAlarm[] = [];
  /** Active alarms by check index, with the alarm id their end message reuses. */
  private readonly activeAlarms = new Map<number, string>();
  private alarmSeq = 0;
  private currentFault: DeviceFault | null = null;
  private flapper: Flapper | null = null;
  private plugged = true;
  /** Faulty messages written so far; picks the next broken variant. */
  private faultySent = 0;

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
    this.flapper?.stop();
    this.flapper = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopSending();
    await this.hangUp();
  }

  private async hangUp(): Promise<void> {
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
    }
    this.socket = null;
  }

  get fault(): DeviceFault | null {
    return this.currentFault;
  }

  /**
   * Makes the monitor misbehave until called with null: unplugged hangs up and stops dialling;
   * half-open keeps the connection but falls silent (and ignores ACKs); garbage writes line noise
   * before each report; truncated-hl7 and malformed-hl7 send broken reports instead of good ones;
   * flapping hangs up and dials again, over and over.
   */
  setFault(fault: DeviceFault | null): void {
    checkSupported(this, fault);
    this.flapper?.stop();
    this.flapper = null;
    this.currentFault = fault;
    if (fault?.kind === 'flapping')
      this.flapper = new Flapper(fault.upMs, fault.downMs, (on) => this.plug(on));
    this.plug(fault?.kind !== 'unplugged');
  }

  private plug(on: boolean): void {
    if (this.plugged === on) return;
    this.plugged = on;
    if (!on) {
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      void this.hangUp();
    } else if (this.running && !this.socket) {
      this.backoffMs = this.reconnectMinMs;
      this.connect();
    }
  }

  address(): Record<string, string | number> {
    return { gateway: `${this.gateway.host}:${this.gateway.port}` };
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** The alarms the monitor considers active now, e.g. `MDC_EVT_LO MDC_PULS_OXIM_SAT_O2`. */
  get activeAlarmConditions(): string[] {
    return [...this.activeAlarms.keys()].map((i) => {
      const check = MONITOR_ALARM_CHECKS[i];
      return `${check.condition} ${check.parameter}`;
    });
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
      this.tick();
      this.sendTimer = setInterval(() => this.tick(), this.intervalMs);
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
      if (this.running && this.plugged) this.scheduleReconnect();
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
    if (this.pending) {
      clearTimeout(this.pending.timer);
      // Written but never acknowledged: the alarm report goes out again after a reconnect.
      const alarm = this.pending.alarm;
      if (alarm) this.alarmQueue.unshift({ ...alarm, resend: true });
    }
    this.pending = null;
  }

  /** Each interval: check the alarms on fresh vitals, then send what is most urgent. */
  private tick(): void {
    const now = Date.now();
    const vitals = this.patient.vitals(now);
    this.checkAlarms(vitals, now);
    const fault = this.currentFault?.kind;
    if (fault === 'half-open') return;
    if (fault === 'truncated-hl7' || fault === 'malformed-hl7') {
      this.sendBroken(fault, vitals, now);
      return;
    }
    if (fault === 'garbage' && this.socket && this.connected)
      this.socket.write(randomBytes(16 + (this.faultySent++ % 48)));
    if (!this.sendNextAlarm()) this.sendObservations(vitals, now);
  }

  /** A broken report instead of the ORU^R01; no ACK is awaited for it. */
  private sendBroken(fault: 'truncated-hl7' | 'malformed-hl7', vitals: Vitals, now: number): void {
    const socket = this.socket;
    if (!socket || !this.connected) return;
    const message = buildOru({
      controlId: `${this.controlPrefix}-${++this.seq}`,
      sendingApp: this.id,
      bedId: this.bedId,
      time: now,
      observations: MONITOR_VITALS.map(([parameter, key]) => ({ parameter, value: vitals[key] })),
    });
    const index = this.faultySent++;
    const broken =
      fault === 'truncated-hl7' ? truncatedHl7(message, index) : malformedHl7(message, index);
    socket.write(frameMllp(broken));
  }

  private checkAlarms(vitals: Vitals, now: number): void {
    MONITOR_ALARM_CHECKS.forEach((check, index) => {
      const value = vitals[check.key];
      const alarmId = this.activeAlarms.get(index);
      const isBreached = breached(check, value, alarmId !== undefined);
      if (isBreached && alarmId === undefined) {
        const id = `${this.id}-${this.controlPrefix}-alarm-${++this.alarmSeq}`;
        this.activeAlarms.set(index, id);
        this.queueAlarm(check, id, 'start', value, now);
      } else if (!isBreached && alarmId !== undefined) {
        this.activeAlarms.delete(index);
        this.queueAlarm(check, alarmId, 'end', value, now);
      }
    });
  }

  private queueAlarm(
    check: AlarmCheck,
    alarmId: string,
    phase: 'start' | 'end',
    value: number,
    now: number,
  ): void {
    const controlId = `${this.controlPrefix}-${++this.seq}`;
    const message = buildAlarmOru({
      controlId,
      sendingApp: this.id,
      bedId: this.bedId,
      time: now,
      alarm: {
        alarmId,
        condition: check.condition,
        parameter: check.parameter,
        value,
        limit: check.limit,
        priority: check.priority,
        kind: 'physiological',
        phase,
        message: check.text,
      },
    });
    this.alarmQueue.push({ controlId, phase, message, resend: false });
  }

  /** Writes the oldest queued alarm report; false when none is queued or one is in flight. */
  private sendNextAlarm(): boolean {
    const socket = this.socket;
    const alarm = this.alarmQueue[0];
    if (!alarm || !socket || !this.connected || this.pending) return false;
    this.alarmQueue.shift();
    this.write(socket, alarm.controlId, alarm.message, alarm);
    this.counters.alarmsSent++;
    if (!alarm.resend) {
      if (alarm.phase === 'start') this.counters.alarmStarts++;
      else this.counters.alarmEnds++;
    }
    return true;
  }

  /** One ORU^R01 with the nine vitals, unless the previous message still waits for its ACK. */
  private sendObservations(vitals: Vitals, now: number): void {
    const socket = this.socket;
    if (!socket || !this.connected || this.pending) return;
    const controlId = `${this.controlPrefix}-${++this.seq}`;
    const message = buildOru({
      controlId,
      sendingApp: this.id,
      bedId: this.bedId,
      time: now,
      observations: MONITOR_VITALS.map(([parameter, key]) => ({ parameter, value: vitals[key] })),
    });
    this.counters.sent++;
    this.write(socket, controlId, message, null);
  }

  private write(
    socket: net.Socket,
    controlId: string,
    message: string,
    alarm: QueuedAlarm | null,
  ): void {
    const timer = setTimeout(() => {
      this.counters.timeouts++;
      this.pending = null;
      // An alarm report is not dropped for want of an ACK: it goes out again first.
      if (alarm) this.alarmQueue.unshift({ ...alarm, resend: true });
    }, this.ackTimeoutMs);
    this.pending = { controlId, timer, alarm };
    socket.write(frameMllp(message));
  }

  private onData(chunk: Buffer): void {
    if (this.currentFault?.kind === 'half-open') return;
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
      const wasAlarm = this.pending.alarm !== null;
      this.pending = null;
      if (ack.code === 'AA' || ack.code === 'CA') {
        if (wasAlarm) this.counters.alarmsAcked++;
        else this.counters.acked++;
      } else {
        if (wasAlarm) this.counters.alarmsRejected++;
        else this.counters.rejected++;
        this.lastRejection = { code: ack.code, text: ack.text };
      }
      // Queued alarm reports go out as soon as the line is free, not at the next interval.
      this.sendNextAlarm();
    }
  }
}
