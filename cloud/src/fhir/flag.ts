/**
 * Alarms as FHIR R4 `Flag` resources.
 *
 * Why Flag: R4 has no resource for a device alarm — `DeviceAlert` only comes with R6 (and the
 * HL7 Device Alert IG). R4's Flag is "a warning about a subject needing attention": it has a
 * status (active while the alarm is not cleared, inactive after), a period (raised … cleared), an
 * author (the Device that raised it), a subject (the Patient in the bed), a category and a code.
 * What Flag has no element for (parameter, priority, kind, source, value, limit, acknowledgement,
 * silence, escalation) goes into extensions under `urn:wardgate:fhir:StructureDefinition/`.
 *
 * Every alarm Flag has category `alarm` (system `urn:wardgate:flag-category`) so that clinical
 * alert Flags can live beside them. The code is the alarm condition: MDC event codes (MDC_EVT_*)
 * in the ISO/IEEE 11073-10101 system, wardgate codes (WG_*) in `urn:wardgate:alarm-condition`.
 * The alarm records carry the MDC reference id (MDC_EVT_HI), not the numeric term code, so the
 * reference id is the code.
 */
import { createHash } from 'node:crypto';
import { termFor } from '@wardgate/shared';
import { type ActorAt, type Alarm, type AlarmEventRow, loadAlarms } from '../alarms/queries.ts';
import type { Db } from '../db/database.ts';
import { MDC_SYSTEM } from './observation.ts';
import { ResourceStore } from './store/resource-store.ts';
import type { FhirResource } from './store/validate.ts';

export const FLAG_CATEGORY_SYSTEM = 'urn:wardgate:flag-category';
export const ALARM_CONDITION_SYSTEM = 'urn:wardgate:alarm-condition';
export const ALARM_IDENTIFIER_SYSTEM = 'urn:wardgate:alarm';
export const BED_IDENTIFIER_SYSTEM = 'urn:wardgate:bed';
const EXTENSION_BASE = 'urn:wardgate:fhir:StructureDefinition';
export const ALARM_EXTENSION = {
  priority: `${EXTENSION_BASE}/alarm-priority`,
  kind: `${EXTENSION_BASE}/alarm-kind`,
  source: `${EXTENSION_BASE}/alarm-source`,
  bed: `${EXTENSION_BASE}/alarm-bed`,
  parameter: `${EXTENSION_BASE}/alarm-parameter`,
  value: `${EXTENSION_BASE}/alarm-value`,
  limit: `${EXTENSION_BASE}/alarm-limit`,
  escalated: `${EXTENSION_BASE}/alarm-escalated`,
  acknowledged: `${EXTENSION_BASE}/alarm-acknowledged`,
  silenced: `${EXTENSION_BASE}/alarm-silenced`,
} as const;

interface Extension {
  url: string;
  valueCode?: string;
  valueString?: string;
  valueDecimal?: number;
  valueBoolean?: boolean;
  valueDateTime?: string;
  valueCodeableConcept?: {
    coding?: { system: string; code: string; display?: string }[];
    text: string;
  };
  extension?: Extension[];
}

export interface Flag {
  resourceType: 'Flag';
  id: string;
  extension: Extension[];
  identifier: { system: string; value: string }[];
  status: 'active' | 'inactive';
  category: { coding: { system: string; code: string; display: string }[] }[];
  code: { coding?: { system: string; code: string }[]; text: string };
  subject:
    | { reference: string }
    | { type: 'Location'; identifier: { system: string; value: string }; display: string };
  period: { start: string; end?: string };
  author: { reference: string };
}

const FHIR_ID_CHAR = /[A-Za-z0-9.-]/;
const FHIR_ID_MAX = 64;
const HASH_LENGTH = 16;

/**
 * `{gatewayId}.{alarmId}` when the alarm id is made of FHIR id characters and the whole fits in
 * 64; else `{gatewayId}.{alarmId with other characters as '-', cut to fit}.{16 hex of a hash}`.
 * Gateway ids hold no dot, so the first dot always ends the gateway id.
 */
export function flagId(gatewayId: string, alarmId: string): string {
  const plain = `${gatewayId}.${alarmId}`;
  if ([...alarmId].every((ch) => FHIR_ID_CHAR.test(ch)) && plain.length <= FHIR_ID_MAX)
    return plain;
  const hash = createHash('sha256')
    .update(`${gatewayId}\u0000${alarmId}`)
    .digest('hex')
    .slice(0, HASH_LENGTH);
  const room = FHIR_ID_MAX - gatewayId.length - 2 - HASH_LENGTH;
  const readable = Array.from(alarmId, (ch) => (FHIR_ID_CHAR.test(ch) ? ch : '-'))
    .slice(0, room)
    .join('');
  return `${gatewayId}.${readable}.${hash}`;
}

export function flagFromAlarm(alarm: Alarm): Flag {
  const extension: Extension[] = [
    { url: ALARM_EXTENSION.priority, valueCode: alarm.priority },
    { url: ALARM_EXTENSION.kind, valueCode: alarm.kind },
    { url: ALARM_EXTENSION.source, valueCode: alarm.source },
    { url: ALARM_EXTENSION.bed, valueString: alarm.bedId },
  ];
  if (alarm.parameter !== null) {
    const term = termFor(alarm.parameter);
    extension.push({
      url: ALARM_EXTENSION.parameter,
      valueCodeableConcept: term
        ? {
            coding: [{ system: MDC_SYSTEM, code: String(term.mdcCode), display: term.mdc }],
            text: term.display,
          }
        : { text: alarm.parameter },
    });
  }
  if (alarm.lastValue !== null)
    extension.push({ url: ALARM_EXTENSION.value, valueDecimal: alarm.lastValue });
  if (alarm.limit !== null)
    extension.push({ url: ALARM_EXTENSION.limit, valueDecimal: alarm.limit });
  extension.push({ url: ALARM_EXTENSION.escalated, valueBoolean: alarm.escalated });
  if (alarm.acknowledged)
    extension.push(actorExtension(ALARM_EXTENSION.acknowledged, alarm.acknowledged));
  if (alarm.silenced) extension.push(actorExtension(ALARM_EXTENSION.silenced, alarm.silenced));

  return {
    resourceType: 'Flag',
    id: flagId(alarm.gatewayId, alarm.alarmId),
    extension,
    identifier: [{ system: ALARM_IDENTIFIER_SYSTEM, value: `${alarm.gatewayId}/${alarm.alarmId}` }],
    status: alarm.active ? 'active' : 'inactive',
    category: [
      { coding: [{ system: FLAG_CATEGORY_SYSTEM, code: 'alarm', display: 'Device alarm' }] },
    ],
    code: conditionCode(alarm),
    subject:
      alarm.patientId !== null
        ? { reference: `Patient/${alarm.patientId}` }
        : {
            // No patient in the bed: the bed itself needs attention (a logical Location reference).
            type: 'Location',
            identifier: {
              system: BED_IDENTIFIER_SYSTEM,
              value: `${alarm.gatewayId}/${alarm.bedId}`,
            },
            display: `Bed ${alarm.bedId} of ${alarm.gatewayId}`,
          },
    period: {
      start: iso(alarm.raisedAt),
      ...(alarm.clearedAt !== null && { end: iso(alarm.clearedAt) }),
    },
    author: { reference: `Device/${alarm.gatewayId}.${alarm.deviceId}` },
  };
}

function conditionCode(alarm: Alarm): Flag['code'] {
  const text = alarm.message ?? alarm.condition;
  const system = alarm.condition.startsWith('MDC_EVT_')
    ? MDC_SYSTEM
    : alarm.condition.startsWith('WG_')
      ? ALARM_CONDITION_SYSTEM
      : undefined;
  return system ? { coding: [{ system, code: alarm.condition }], text } : { text };
}

function actorExtension(url: string, { by, at }: ActorAt): Extension {
  const parts: Extension[] = [];
  if (by !== null) parts.push({ url: 'by', valueString: by });
  parts.push({ url: 'at', valueDateTime: iso(at) });
  return { url, extension: parts };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * Writes the current state of these alarms as their stored Flags (a new version each), in the
 * caller's transaction: ingest calls it for the alarms an envelope batch changed.
 */
export async function writeAlarmFlags(
  db: Db,
  changed: readonly Pick<AlarmEventRow, 'gatewayId' | 'alarmId'>[],
): Promise<void> {
  const store = new ResourceStore(db);
  for (const alarm of await loadAlarms(db, changed)) {
    await store.update(flagFromAlarm(alarm) as unknown as FhirResource);
  }
}
