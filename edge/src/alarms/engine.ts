import type {
  AlarmEventInput,
  AlarmKind,
  AlarmPriority,
  AlarmSource,
  AlarmTransition,
  EffectiveLimits,
  ReadingInput,
} from '@wardgate/shared';
import {
  AlarmPriority as AlarmPrioritySchema,
  BedAlarmSettings,
  effectiveLimits,
} from '@wardgate/shared';
import type { DeviceAlarmSignal } from '../drivers/types.ts';
import { crossingOf, LIMIT_CONDITIONS, type LimitCondition, limitMessage } from './conditions.ts';
import type {
  ActiveAlarm,
  AlarmEngineApi,
  AlarmEngineSettings,
  TechnicalCondition,
} from './types.ts';

/*
 * The gateway's alarm engine (IEC 60601-1-8 vocabulary, IHE PCD ACM condition codes). Pure
 * logic: no timers, no I/O; time comes from the injected clock and the runtime calls tick().
 *
 * Sources of alarm conditions, all through one state machine:
 * - Limit alarms (source 'gateway', kind 'physiological'), per device and parameter, from
 *   readings. A bed's limits are the cloud's settings for it (setBedSettings), else the gateway
 *   config's (settings.beds), else `defaultProfile`; the cloud's settings for a bed replace the
 *   config's whole. A value outside [low, high] starts a condition timer; the alarm is raised once
 *   the crossing has lasted the parameter's `delaySeconds` (checked by tick() and by every
 *   reading), so a value back in range earlier cancels it quietly. Condition MDC_EVT_LO or
 *   MDC_EVT_HI with `parameter`, `value` (the latest out-of-range value) and `limit`. Readings of
 *   quality 'invalid' are ignored; 'questionable' ones count.
 * - Device alarms (source 'device'), keyed by device + condition + parameter: active=true raises
 *   at once (the device applied its own delay), active=false ends the condition.
 * - Technical alarms (source 'gateway', kind 'technical'), keyed by device + condition, likewise.
 *   Repeats of an unchanged condition change nothing.
 *
 * When a condition ends: a physiological alarm of high priority that nobody acknowledged LATCHES
 * (state 'latched', stays listed) until acknowledged, then clears; every other alarm clears.
 * Technical alarms never latch. If the condition returns while latched, the same alarm becomes
 * active again (no new 'raised': its life never ended).
 *
 * Acknowledge (actor required): records who ('acknowledged'), stops escalation and ends the audio
 * for good; an acknowledged alarm clears when its condition ends, a latched one clears at once.
 * Acknowledging an acknowledged alarm changes nothing.
 *
 * Silence (actor required; an alarm id, or a bed id for all of that bed's alarms): pauses the
 * audio for `silenceSeconds` ('silenced'); when the pause ends and the alarm is still there the
 * audio returns (silencedUntil back to null, a change but no transition). Silence does not stop
 * escalation.
 *
 * Escalation of unacknowledged alarms, `escalateAfterSeconds` apart: a medium alarm becomes high
 * ('escalated', priority high); a high alarm, raised high or escalated to it, then gets
 * `escalated: true` (a second 'escalated'). Low alarms do not escalate. An alarm escalated to
 * high latches like any high alarm.
 *
 * active() lists the highest priority first and, within a priority, the most recent first.
 * Every transition goes to onTransition listeners as a full AlarmEventInput stamped with the
 * engine's clock; every change of the list or of the audio state to onChange listeners, once per
 * call. A listener that throws is counted (listenerErrors) and does not stop the others.
 */

const PRIORITY_RANK: Record<AlarmPriority, number> = { high: 0, medium: 1, low: 2 };

/** An acknowledge or silence named no alarm (and no bed with alarms): the UI answers 404. */
export class AlarmNotFoundError extends Error {
  constructor(id: string) {
    super(`no current alarm or bed "${id}"`);
    this.name = 'AlarmNotFoundError';
  }
}

/** Whether an alarm's audio signal sounds at `now`: unacknowledged and not silenced. */
export function isAudible(alarm: ActiveAlarm, now: number): boolean {
  return (
    alarm.acknowledged === null && (alarm.silencedUntil === null || alarm.silencedUntil <= now)
  );
}

interface Tracked {
  key: string;
  alarm: ActiveAlarm;
  /** When the alarm reached high priority: the start of its escalation clock. */
  highSince: number;
}

/** What is needed to raise an alarm (or to re-activate a latched one). */
interface AlarmSpec {
  key: string;
  bedId: string;
  deviceId: string;
  source: AlarmSource;
  kind: AlarmKind;
  condition: string;
  parameter?: string;
  priority: AlarmPriority;
  message: string;
  value?: number;
  limit?: number;
}

/** A limit crossing waiting out its condition delay. */
interface PendingCrossing {
  bedId: string;
  deviceId: string;
  parameter: string;
  unit: string;
  condition: LimitCondition;
  value: number;
  since: number;
}

export class AlarmEngine implements AlarmEngineApi {
  /** Listener exceptions caught so far. */
  listenerErrors = 0;
  private readonly settings: AlarmEngineSettings;
  private readonly gatewayId: string;
  private readonly clock: () => number;
  private readonly cloudBeds = new Map<string, BedAlarmSettings>();
  private readonly limitsCache = new Map<string, EffectiveLimits>();
  private readonly knownBeds = new Set<string>();
  /** Current alarms by key (source + device + condition + parameter). */
  private readonly alarms = new Map<string, Tracked>();
  private readonly byId = new Map<string, Tracked>();
  /** Pending crossings by device + parameter. */
  private readonly pending = new Map<string, PendingCrossing>();
  private readonly transitionListeners: ((event: AlarmEventInput) => void)[] = [];
  private readonly changeListeners: (() => void)[] = [];
  private changed = false;
  private counter = 0;

  constructor(settings: AlarmEngineSettings, options: { gatewayId: string; clock?: () => number }) {
    if (!(settings.silenceSeconds > 0))
      throw new Error(`alarm silenceSeconds must be positive, got ${settings.silenceSeconds}`);
    if (!(settings.escalateAfterSeconds > 0))
      throw new Error(
        `alarm escalateAfterSeconds must be positive, got ${settings.escalateAfterSeconds}`,
      );
    if (!options.gatewayId) throw new Error('alarm engine needs a gateway id');
    this.settings = { ...settings, beds: { ...settings.beds } };
    this.gatewayId = options.gatewayId;
    this.clock = options.clock ?? Date.now;
    effectiveLimits(settings.defaultProfile);
    for (const bedId of Object.keys(this.settings.beds)) {
      this.knownBeds.add(bedId);
      this.limitsFor(bedId);
    }
  }

  onTransition(listener: (event: AlarmEventInput) => void): void {
    this.transitionListeners.push(listener);
  }

  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  /** The effective limits of a bed (cloud settings, else config, else the default profile). */
  limitsFor(bedId: string): EffectiveLimits {
    let limits = this.limitsCache.get(bedId);
    if (!limits) {
      const bed = this.cloudBeds.get(bedId) ?? this.settings.beds[bedId];
      limits = effectiveLimits(bed?.profile ?? this.settings.defaultProfile, bed?.limits);
      this.limitsCache.set(bedId, limits);
    }
    return limits;
  }

  /**
   * The cloud's settings for a bed, replacing the gateway config's; undefined goes back to them.
   * Throws on invalid settings (the previous ones stay). Takes effect with the next reading.
   */
  setBedSettings(bedId: string, settings: BedAlarmSettings | undefined): void {
    if (settings === undefined) {
      this.cloudBeds.delete(bedId);
      this.limitsCache.delete(bedId);
    } else {
      const parsed = BedAlarmSettings.safeParse(settings);
      if (!parsed.success)
        throw new Error(`alarm settings for bed ${bedId}: ${parsed.error.issues[0]?.message}`);
      const limits = effectiveLimits(
        parsed.data.profile ?? this.settings.defaultProfile,
        parsed.data.limits,
      );
      this.cloudBeds.set(bedId, parsed.data);
      this.limitsCache.set(bedId, limits);
    }
    this.knownBeds.add(bedId);
  }

  onReadings(batch: readonly ReadingInput[]): void {
    const now = this.clock();
    for (const reading of batch) {
      if (reading.quality === 'invalid') continue;
      this.knownBeds.add(reading.bedId);
      this.evaluate(reading, now);
    }
    this.flush();
  }

  onDeviceAlarm(signal: DeviceAlarmSignal): void {
    checkCondition('device alarm', signal);
    const now = this.clock();
    const key = `device|${signal.deviceId}|${signal.condition}|${signal.parameter ?? ''}`;
    this.knownBeds.add(signal.bedId);
    if (!signal.active) this.endCondition(key, now);
    else {
      const spec: AlarmSpec = {
        key,
        bedId: signal.bedId,
        deviceId: signal.deviceId,
        source: 'device',
        kind: signal.kind,
        condition: signal.condition,
        priority: signal.priority,
        message: (signal.message ?? signal.condition).slice(0, 512),
      };
      if (signal.parameter !== undefined) spec.parameter = signal.parameter;
      if (signal.value !== undefined) spec.value = signal.value;
      if (signal.limit !== undefined) spec.limit = signal.limit;
      this.conditionPresent(spec, now);
    }
    this.flush();
  }

  onTechnical(condition: TechnicalCondition): void {
    checkCondition('technical condition', condition);
    const now = this.clock();
    const key = `technical|${condition.deviceId}|${condition.condition}`;
    this.knownBeds.add(condition.bedId);
    if (!condition.active) this.endCondition(key, now);
    else
      this.conditionPresent(
        {
          key,
          bedId: condition.bedId,
          deviceId: condition.deviceId,
          source: 'gateway',
          kind: 'technical',
          condition: condition.condition,
          priority: condition.priority,
          message: condition.message.slice(0, 512),
        },
        now,
      );
    this.flush();
  }

  tick(now: number = this.clock()): void {
    for (const [key, crossing] of this.pending) this.checkPending(key, crossing, now);
    for (const tracked of this.alarms.values()) {
      const alarm = tracked.alarm;
      if (alarm.silencedUntil !== null && alarm.silencedUntil <= now) {
        alarm.silencedUntil = null;
        alarm.silencedBy = null;
        this.changed = true;
      }
      this.escalate(tracked, now);
    }
    this.flush();
  }

  acknowledge(alarmId: string, actor: string): ActiveAlarm {
    const by = checkActor(actor);
    const tracked = this.byId.get(alarmId);
    if (!tracked) throw new AlarmNotFoundError(alarmId);
    const alarm = tracked.alarm;
    if (alarm.acknowledged === null) {
      const now = this.clock();
      alarm.acknowledged = { by, at: now };
      this.record(alarm, 'acknowledged', now, by);
      if (alarm.state === 'latched') this.clear(tracked, now);
      this.changed = true;
    }
    this.flush();
    return snapshot(alarm);
  }

  silence(alarmId: string, actor: string): ActiveAlarm[] {
    const by = checkActor(actor);
    const one = this.byId.get(alarmId);
    const targets = one
      ? [one]
      : [...this.alarms.values()].filter((tracked) => tracked.alarm.bedId === alarmId);
    if (targets.length === 0 && !this.knownBeds.has(alarmId)) throw new AlarmNotFoundError(alarmId);
    const now = this.clock();
    for (const { alarm } of targets) {
      alarm.silencedUntil = now + this.settings.silenceSeconds * 1000;
      alarm.silencedBy = by;
      this.record(alarm, 'silenced', now, by);
      this.changed = true;
    }
    this.flush();
    return sortAlarms(targets.map((tracked) => snapshot(tracked.alarm)));
  }

  active(): ActiveAlarm[] {
    return sortAlarms([...this.alarms.values()].map((tracked) => snapshot(tracked.alarm)));
  }

  /** One reading against its bed's limits: ends, starts or fires a limit condition. */
  private evaluate(reading: ReadingInput, now: number): void {
    const limits = this.limitsFor(reading.bedId)[reading.parameter];
    const crossing = limits ? crossingOf(reading.value, limits) : null;
    const pendingKey = `${reading.deviceId}|${reading.parameter}`;
    for (const condition of LIMIT_CONDITIONS)
      if (condition !== crossing?.condition)
        this.endCondition(limitKey(reading.deviceId, reading.parameter, condition), now);
    if (!crossing) {
      this.pending.delete(pendingKey);
      return;
    }
    const current = this.alarms.get(
      limitKey(reading.deviceId, reading.parameter, crossing.condition),
    );
    if (current?.alarm.state === 'active') {
      this.pending.delete(pendingKey);
      const alarm = current.alarm;
      const message = limitMessage(reading.parameter, reading.unit, reading.value, crossing);
      if (alarm.value !== reading.value || alarm.limit !== crossing.limit) {
        alarm.value = reading.value;
        alarm.limit = crossing.limit;
        alarm.message = message;
        this.changed = true;
      }
      return;
    }
    let pending = this.pending.get(pendingKey);
    if (!pending || pending.condition !== crossing.condition) {
      pending = {
        bedId: reading.bedId,
        deviceId: reading.deviceId,
        parameter: reading.parameter,
        unit: reading.unit,
        condition: crossing.condition,
        value: reading.value,
        since: now,
      };
      this.pending.set(pendingKey, pending);
    }
    pending.value = reading.value;
    pending.unit = reading.unit;
    this.checkPending(pendingKey, pending, now);
  }

  /** Raises a pending crossing whose delay (under the bed's current limits) has run out. */
  private checkPending(pendingKey: string, pending: PendingCrossing, now: number): void {
    const limits = this.limitsFor(pending.bedId)[pending.parameter];
    const crossing = limits ? crossingOf(pending.value, limits) : null;
    if (!limits || crossing?.condition !== pending.condition) {
      this.pending.delete(pendingKey);
      return;
    }
    if (now < pending.since + limits.delaySeconds * 1000) return;
    this.pending.delete(pendingKey);
    this.conditionPresent(
      {
        key: limitKey(pending.deviceId, pending.parameter, pending.condition),
        bedId: pending.bedId,
        deviceId: pending.deviceId,
        source: 'gateway',
        kind: 'physiological',
        condition: pending.condition,
        parameter: pending.parameter,
        priority: crossing.priority,
        message: limitMessage(pending.parameter, pending.unit, pending.value, crossing),
        value: pending.value,
        limit: crossing.limit,
      },
      now,
    );
  }

  /** The condition is present: raise a new alarm, re-activate a latched one, or update. */
  private conditionPresent(spec: AlarmSpec, now: number): void {
    const existing = this.alarms.get(spec.key);
    if (existing) {
      const alarm = existing.alarm;
      const before = JSON.stringify(alarm);
      alarm.state = 'active';
      alarm.message = spec.message;
      if (spec.value !== undefined) alarm.value = spec.value;
      if (spec.limit !== undefined) alarm.limit = spec.limit;
      if (PRIORITY_RANK[spec.priority] < PRIORITY_RANK[alarm.priority]) {
        alarm.priority = spec.priority;
        if (spec.priority === 'high') existing.highSince = now;
      }
      if (JSON.stringify(alarm) !== before) this.changed = true;
      return;
    }
    const alarm: ActiveAlarm = {
      alarmId: this.newAlarmId(spec.bedId, now),
      bedId: spec.bedId,
      deviceId: spec.deviceId,
      source: spec.source,
      condition: spec.condition,
      priority: spec.priority,
      kind: spec.kind,
      state: 'active',
      message: spec.message,
      raisedAt: now,
      acknowledged: null,
      silencedUntil: null,
      silencedBy: null,
      escalated: false,
    };
    if (spec.parameter !== undefined) alarm.parameter = spec.parameter;
    if (spec.value !== undefined) alarm.value = spec.value;
    if (spec.limit !== undefined) alarm.limit = spec.limit;
    const tracked: Tracked = { key: spec.key, alarm, highSince: now };
    this.alarms.set(spec.key, tracked);
    this.byId.set(alarm.alarmId, tracked);
    this.changed = true;
    this.record(alarm, 'raised', now);
  }

  /** The condition is over: latch an unacknowledged high physiological alarm, else clear. */
  private endCondition(key: string, now: number): void {
    const tracked = this.alarms.get(key);
    if (tracked?.alarm.state !== 'active') return;
    const alarm = tracked.alarm;
    if (
      alarm.kind === 'physiological' &&
      alarm.priority === 'high' &&
      alarm.acknowledged === null
    ) {
      alarm.state = 'latched';
      this.changed = true;
    } else this.clear(tracked, now);
  }

  private clear(tracked: Tracked, now: number): void {
    this.alarms.delete(tracked.key);
    this.byId.delete(tracked.alarm.alarmId);
    this.changed = true;
    this.record(tracked.alarm, 'cleared', now);
  }

  private escalate(tracked: Tracked, now: number): void {
    const alarm = tracked.alarm;
    if (alarm.acknowledged !== null || alarm.escalated || alarm.priority === 'low') return;
    const after = this.settings.escalateAfterSeconds * 1000;
    if (alarm.priority === 'medium') {
      if (now - alarm.raisedAt < after) return;
      alarm.priority = 'high';
      tracked.highSince = now;
    } else {
      if (now - tracked.highSince < after) return;
      alarm.escalated = true;
    }
    this.changed = true;
    this.record(alarm, 'escalated', now);
  }

  /** Unique across gateways and restarts: gateway, bed, raise time and a counter. */
  private newAlarmId(bedId: string, now: number): string {
    this.counter += 1;
    return `${this.gatewayId}.${bedId}.${now.toString(36)}.${this.counter.toString(36)}`;
  }

  private record(alarm: ActiveAlarm, transition: AlarmTransition, time: number, actor?: string) {
    const event: AlarmEventInput = {
      alarmId: alarm.alarmId,
      deviceId: alarm.deviceId,
      bedId: alarm.bedId,
      source: alarm.source,
      condition: alarm.condition,
      priority: alarm.priority,
      kind: alarm.kind,
      transition,
      message: alarm.message,
      time,
    };
    if (alarm.parameter !== undefined) event.parameter = alarm.parameter;
    if (alarm.value !== undefined) event.value = alarm.value;
    if (alarm.limit !== undefined) event.limit = alarm.limit;
    if (actor !== undefined) event.actor = actor;
    for (const listener of this.transitionListeners) this.call(() => listener({ ...event }));
  }

  private flush(): void {
    if (!this.changed) return;
    this.changed = false;
    for (const listener of this.changeListeners) this.call(listener);
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch {
      this.listenerErrors += 1;
    }
  }
}

function limitKey(deviceId: string, parameter: string, condition: LimitCondition): string {
  return `limit|${deviceId}|${parameter}|${condition}`;
}

function checkActor(actor: string): string {
  const by = typeof actor === 'string' ? actor.trim() : '';
  if (!by) throw new Error('an actor (who acknowledges or silences) is required');
  if (by.length > 128) throw new Error('actor is longer than 128 characters');
  return by;
}

function checkCondition(
  what: string,
  input: { condition: string; deviceId: string; bedId: string; priority: AlarmPriority },
): void {
  if (!input.condition || input.condition.length > 64)
    throw new Error(`${what}: condition code must be 1 to 64 characters, got "${input.condition}"`);
  if (!input.deviceId) throw new Error(`${what} ${input.condition}: no device id`);
  if (!input.bedId) throw new Error(`${what} ${input.condition}: no bed id`);
  if (!AlarmPrioritySchema.safeParse(input.priority).success)
    throw new Error(`${what} ${input.condition}: unknown priority "${input.priority}"`);
}

function snapshot(alarm: ActiveAlarm): ActiveAlarm {
  return { ...alarm, acknowledged: alarm.acknowledged ? { ...alarm.acknowledged } : null };
}

function sortAlarms(alarms: ActiveAlarm[]): ActiveAlarm[] {
  return alarms.sort(
    (a, b) =>
      PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
      b.raisedAt - a.raisedAt ||
      (a.alarmId < b.alarmId ? -1 : a.alarmId > b.alarmId ? 1 : 0),
  );
}
