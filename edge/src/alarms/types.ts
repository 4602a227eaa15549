import type {
  AlarmEventInput,
  AlarmKind,
  AlarmPriority,
  AlarmSource,
  BedAlarmSettings,
  ReadingInput,
} from '@wardgate/shared';
import type { DeviceAlarmSignal } from '../drivers/types.ts';

/**
 * The contract between the alarm engine (alarms/engine.ts), the gateway runtime that feeds it
 * and stores its transitions, and the nurse screen that shows and acts on its alarms.
 * Vocabulary of IEC 60601-1-8 and IHE PCD ACM.
 */

/** Where an alarm stands now. `latched`: the condition ended but a high alarm waits for an ack. */
export type AlarmState = 'active' | 'latched';

/** One alarm the nurse screen shows: raised and not yet over. */
export interface ActiveAlarm {
  alarmId: string;
  bedId: string;
  deviceId: string;
  source: AlarmSource;
  condition: string;
  parameter?: string;
  /** Current priority (escalation raises it). */
  priority: AlarmPriority;
  kind: AlarmKind;
  state: AlarmState;
  /** Human text, e.g. "SpO2 86 % < 90". */
  message: string;
  value?: number;
  limit?: number;
  raisedAt: number;
  acknowledged: { by: string; at: number } | null;
  /** Audio paused until this time (the visual signal stays). */
  silencedUntil: number | null;
  silencedBy: string | null;
  escalated: boolean;
}

/** A technical condition the gateway itself detects (not a device). */
export interface TechnicalCondition {
  /** WG_DEVICE_SILENT, WG_COMM_ERROR, WG_LOW_DISK, WG_CLOCK_SKEW, WG_CLOUD_UNREACHABLE, ... */
  condition: string;
  /** The device concerned, or the gateway id for gateway-wide conditions. */
  deviceId: string;
  /** The bed concerned, or 'gateway' for gateway-wide conditions. */
  bedId: string;
  active: boolean;
  priority: AlarmPriority;
  message: string;
  time: number;
}

export interface AlarmEngineSettings {
  /** Default limit profile for beds without one. */
  defaultProfile: 'adult' | 'pediatric' | 'neonatal';
  /** Per bed settings from the gateway config, overridden by the cloud's config. */
  beds: Record<string, BedAlarmSettings>;
  /** Audio pause length after a silence. */
  silenceSeconds: number;
  /** An unacknowledged high alarm escalates after this long. */
  escalateAfterSeconds: number;
}

/** What the engine offers the runtime and the UI. */
export interface AlarmEngineApi {
  onReadings(batch: readonly ReadingInput[]): void;
  onDeviceAlarm(signal: DeviceAlarmSignal): void;
  onTechnical(condition: TechnicalCondition): void;
  /** Advances timers (condition delays, silence timeouts, escalation) to `now`. */
  tick(now?: number): void;
  acknowledge(alarmId: string, actor: string): ActiveAlarm;
  /** Pauses the audio of one alarm, or of every alarm of a bed when `alarmId` is a bed id. */
  silence(alarmId: string, actor: string): ActiveAlarm[];
  setBedSettings(bedId: string, settings: BedAlarmSettings | undefined): void;
  active(): ActiveAlarm[];
  /** Every transition (raised, acknowledged, silenced, escalated, cleared) as a record to store. */
  onTransition(listener: (event: AlarmEventInput) => void): void;
  /** Any change of the active list or audio state (for the live screen). */
  onChange(listener: () => void): void;
}
