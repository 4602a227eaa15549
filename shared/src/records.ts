import { z } from 'zod';

/** Unix epoch milliseconds (UTC). All record times are numbers on the wire; FHIR renders ISO. */
export const EpochMs = z.number().int().nonnegative();

export const Quality = z.enum(['valid', 'questionable', 'invalid']);
export type Quality = z.infer<typeof Quality>;

const Id = z
  .string()
  .min(1)
  .max(32)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9.-]*$/,
    'letters, digits, dot or dash (it becomes part of FHIR ids)',
  );

export const DeviceId = Id;
export const BedId = Id;

/** A reading as a driver produces it, before the store gives it a seq. */
export const ReadingInput = z.object({
  deviceId: DeviceId,
  bedId: BedId,
  /** IEEE 11073-10101 reference id, e.g. MDC_ECG_HEART_RATE; must be in the terminology table. */
  parameter: z.string().regex(/^MDC_[A-Z0-9_]+$/, 'an IEEE 11073 MDC reference id'),
  value: z.number().finite(),
  /** UCUM unit code, e.g. "/min", "%", "mm[Hg]". */
  unit: z.string().min(1),
  deviceTime: EpochMs,
  gatewayTime: EpochMs,
  quality: Quality,
});
export type ReadingInput = z.infer<typeof ReadingInput>;

export const Reading = ReadingInput.extend({ seq: z.number().int().positive() });
export type Reading = z.infer<typeof Reading>;

export const AlarmPriority = z.enum(['high', 'medium', 'low']);
export type AlarmPriority = z.infer<typeof AlarmPriority>;
export const AlarmKind = z.enum(['physiological', 'technical']);
export type AlarmKind = z.infer<typeof AlarmKind>;
export const AlarmSource = z.enum(['device', 'gateway']);
export type AlarmSource = z.infer<typeof AlarmSource>;
export const AlarmTransition = z.enum([
  'raised',
  'acknowledged',
  'silenced',
  'escalated',
  'cleared',
]);
export type AlarmTransition = z.infer<typeof AlarmTransition>;

export const AlarmEventInput = z.object({
  /** Stable across the alarm's whole life (raised … cleared). */
  alarmId: z.string().min(1).max(128),
  deviceId: DeviceId,
  bedId: BedId,
  source: AlarmSource,
  /** Condition code: an MDC event code (MDC_EVT_*) or a wardgate code (WG_*). */
  condition: z.string().min(1).max(64),
  /** The parameter the condition is about, where there is one. */
  parameter: z.string().optional(),
  priority: AlarmPriority,
  kind: AlarmKind,
  transition: AlarmTransition,
  value: z.number().finite().optional(),
  limit: z.number().finite().optional(),
  /** Who acknowledged or silenced (badge id / user), for those transitions. */
  actor: z.string().max(128).optional(),
  message: z.string().max(512).optional(),
  time: EpochMs,
});
export type AlarmEventInput = z.infer<typeof AlarmEventInput>;

export const AlarmEvent = AlarmEventInput.extend({ seq: z.number().int().positive() });
export type AlarmEvent = z.infer<typeof AlarmEvent>;

export const DeviceState = z.enum(['online', 'offline', 'error', 'maintenance']);
export type DeviceState = z.infer<typeof DeviceState>;

/**
 * Device status is state, not history: it travels as part of a retained status snapshot
 * (see status.ts), so it carries no seq. Transitions that matter clinically become technical
 * alarms, which do.
 */
export const DeviceStatus = z.object({
  deviceId: DeviceId,
  bedId: BedId.optional(),
  kind: z.string().optional(),
  state: DeviceState,
  lastContact: EpochMs.nullable(),
  error: z.string().max(512).nullable(),
});
export type DeviceStatus = z.infer<typeof DeviceStatus>;
