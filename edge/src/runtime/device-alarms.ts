import { randomUUID } from 'node:crypto';
import type { AlarmEventInput } from '@wardgate/shared';
import type { DeviceAlarmSignal } from '../drivers/types.ts';

/**
 * Turns the conditions devices report (active / not active) into alarm transitions: `raised`
 * when a condition appears, `cleared` when it ends, with one alarm id across its life. Repeated
 * reports of the same state produce nothing. The full IEC 60601-1-8 engine (limits, delays,
 * latching, silence, escalation) sits in front of this in the alarms issue.
 */
export class DeviceAlarmRelay {
  private readonly active = new Map<string, { alarmId: string }>();

  transition(signal: DeviceAlarmSignal): AlarmEventInput | null {
    const key = `${signal.deviceId}\u0000${signal.condition}`;
    const current = this.active.get(key);
    if (signal.active === Boolean(current)) return null;
    const alarmId = current?.alarmId ?? `${signal.deviceId}.${signal.condition}.${randomUUID()}`;
    if (signal.active) this.active.set(key, { alarmId });
    else this.active.delete(key);
    return {
      alarmId,
      deviceId: signal.deviceId,
      bedId: signal.bedId,
      source: 'device',
      condition: signal.condition,
      parameter: signal.parameter,
      priority: signal.priority,
      kind: signal.kind,
      transition: signal.active ? 'raised' : 'cleared',
      value: signal.value,
      limit: signal.limit,
      message: signal.message,
      time: signal.time,
    };
  }
}
