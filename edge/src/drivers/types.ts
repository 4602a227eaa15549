import type {
  AlarmKind,
  AlarmPriority,
  DeviceKind,
  DeviceState,
  ReadingInput,
} from '@wardgate/shared';

/** An alarm condition the device itself reports (IHE PCD-04 ORU^R40, Modbus alarm bits). */
export interface DeviceAlarmSignal {
  deviceId: string;
  bedId: string;
  /** MDC event code or a profile's condition code. */
  condition: string;
  parameter?: string;
  priority: AlarmPriority;
  kind: AlarmKind;
  /** true while the device says the condition is present; false when it ends. */
  active: boolean;
  value?: number;
  limit?: number;
  message?: string;
  time: number;
}

/**
 * Where a driver sends what it learns. Drivers know nothing of SQLite or MQTT: the edge runtime
 * behind the sink stores, alarms and syncs.
 */
export interface DriverSink {
  /**
   * Resolves true once the readings are committed to the gateway's store (so a protocol that
   * acknowledges, like HL7, can answer only then), false when the store refused them. Never rejects.
   */
  readings(batch: ReadingInput[]): Promise<boolean>;
  deviceAlarm(signal: DeviceAlarmSignal): void;
  /** Link state of one device: online when it talks, offline when silent or unreachable. */
  status(deviceId: string, state: DeviceState, error?: string): void;
  /** A malformed frame or protocol error: counted and logged, never fatal. */
  frameError(deviceId: string | null, error: Error): void;
}

export interface DeviceStats {
  deviceId: string;
  kind: DeviceKind;
  state: DeviceState;
  lastContact: number | null;
  messages: number;
  errors: number;
  lastError: string | null;
  /**
   * Connections tried: by the gateway to a polled device (each attempt, failed ones too, so the
   * backoff shows), or opened by a device that dials in (MLLP).
   */
  connectAttempts: number;
  /** Human-readable transport details for the biomed page, e.g. "modbus-tcp 10.0.0.5:502 unit 1". */
  detail: string;
}

export interface Driver {
  /** e.g. "hl7-mllp", "modbus-tcp", "serial". */
  readonly type: string;
  /** The configured devices this driver serves (one for Modbus/serial, many for an MLLP listener). */
  readonly deviceIds: readonly string[];
  start(sink: DriverSink): Promise<void>;
  /** Closes sockets and timers; resolves when nothing of the driver is left running. */
  stop(): Promise<void>;
  stats(): DeviceStats[];
}
