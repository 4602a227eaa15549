import type { DeviceState, ReadingInput } from '@wardgate/shared';
import type { DeviceAlarmSignal, DriverSink } from '../../src/drivers/types.ts';

/** A DriverSink that remembers everything a driver told it, for the driver tests to inspect. */
export class RecordingSink implements DriverSink {
  readonly batches: ReadingInput[][] = [];
  readonly alarms: DeviceAlarmSignal[] = [];
  readonly statuses: { deviceId: string; state: DeviceState; error?: string }[] = [];
  readonly frameErrors: { deviceId: string | null; error: Error; message: string }[] = [];

  /** While set, readings() answers only when it resolves (a slow store). */
  commitGate: Promise<void> | null = null;
  /** When true, readings() reports the store refused them (a full or failing store). */
  refusing = false;

  async readings(batch: ReadingInput[]) {
    this.batches.push(batch);
    if (this.commitGate) await this.commitGate;
    return !this.refusing;
  }
  deviceAlarm(signal: DeviceAlarmSignal) {
    this.alarms.push(signal);
  }
  status(deviceId: string, state: DeviceState, error?: string) {
    this.statuses.push({ deviceId, state, error });
  }
  frameError(deviceId: string | null, error: Error) {
    this.frameErrors.push({ deviceId, error, message: error.message });
  }

  get readingsSeen(): ReadingInput[] {
    return this.batches.flat();
  }
  get errors(): Error[] {
    return this.frameErrors.map((e) => e.error);
  }
  get lastState(): DeviceState | undefined {
    return this.statuses.at(-1)?.state;
  }
  /** The most recent reading of a parameter. */
  latest(parameter: string): ReadingInput | undefined {
    return this.readingsSeen.findLast((r) => r.parameter === parameter);
  }
  readingsOf(deviceId: string): ReadingInput[] {
    return this.readingsSeen.filter((r) => r.deviceId === deviceId);
  }
  statusesOf(deviceId: string): DeviceState[] {
    return this.statuses.filter((s) => s.deviceId === deviceId).map((s) => s.state);
  }
}
