import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** Times are epoch milliseconds (bigint) everywhere, like the wire records; FHIR renders ISO. */
const epochMs = (name: string) => bigint(name, { mode: 'number' });

/** A gateway the cloud knows: its Ed25519 public key (envelope signatures) and MQTT password. */
export const gateways = pgTable('gateways', {
  id: text('id').primaryKey(),
  publicKey: text('public_key').notNull(),
  /** scrypt hash of the MQTT password: `scrypt$N$r$p$salt$hash` (base64 parts). */
  passwordHash: text('password_hash').notNull(),
  createdAt: epochMs('created_at').notNull(),
  revokedAt: epochMs('revoked_at'),
});

/** One-time tokens with which a new gateway enrolls itself (only their SHA-256 is kept). */
export const enrollmentTokens = pgTable('enrollment_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  gatewayId: text('gateway_id').notNull(),
  createdAt: epochMs('created_at').notNull(),
  expiresAt: epochMs('expires_at').notNull(),
  usedAt: epochMs('used_at'),
});

/** Per gateway and stream: every record with seq ≤ ackedUpTo is committed here. */
export const ingestCursors = pgTable(
  'ingest_cursors',
  {
    gatewayId: text('gateway_id').notNull(),
    stream: text('stream').notNull(),
    ackedUpTo: bigint('acked_up_to', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.gatewayId, t.stream] })],
);

export const readings = pgTable(
  'readings',
  {
    gatewayId: text('gateway_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    deviceId: text('device_id').notNull(),
    bedId: text('bed_id').notNull(),
    parameter: text('parameter').notNull(),
    value: doublePrecision('value').notNull(),
    unit: text('unit').notNull(),
    deviceTime: epochMs('device_time').notNull(),
    gatewayTime: epochMs('gateway_time').notNull(),
    quality: text('quality').notNull(),
    /** The patient in the bed at deviceTime, resolved at ingest; null when the bed was empty. */
    patientId: text('patient_id'),
    receivedAt: epochMs('received_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.gatewayId, t.seq] }),
    index('readings_patient_time').on(t.patientId, t.deviceTime),
    index('readings_device_time').on(t.gatewayId, t.deviceId, t.deviceTime),
  ],
);

export const alarmEvents = pgTable(
  'alarm_events',
  {
    gatewayId: text('gateway_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    alarmId: text('alarm_id').notNull(),
    deviceId: text('device_id').notNull(),
    bedId: text('bed_id').notNull(),
    source: text('source').notNull(),
    condition: text('condition').notNull(),
    parameter: text('parameter'),
    priority: text('priority').notNull(),
    kind: text('kind').notNull(),
    transition: text('transition').notNull(),
    value: doublePrecision('value'),
    limit: doublePrecision('limit'),
    actor: text('actor'),
    message: text('message'),
    time: epochMs('time').notNull(),
    patientId: text('patient_id'),
    receivedAt: epochMs('received_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.gatewayId, t.seq] }),
    index('alarm_events_alarm').on(t.gatewayId, t.alarmId),
    // Alarm lists by ward/bed and by patient over a time range (cloud/src/alarms/queries.ts).
    index('alarm_events_bed_time').on(t.gatewayId, t.bedId, t.time),
    index('alarm_events_patient_time').on(t.patientId, t.time),
  ],
);

/** Envelopes the cloud refused: bad JSON, bad signature, foreign gateway, ... (audited, counted). */
export const ingestRejections = pgTable('ingest_rejections', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  gatewayId: text('gateway_id'),
  topic: text('topic').notNull(),
  code: text('code').notNull(),
  message: text('message').notNull(),
  receivedAt: epochMs('received_at').notNull(),
});

/** The latest signed status snapshot of each gateway (devices and link states). */
export const gatewayStatus = pgTable('gateway_status', {
  gatewayId: text('gateway_id').primaryKey(),
  online: boolean('online').notNull(),
  snapshot: jsonb('snapshot').notNull(),
  receivedAt: epochMs('received_at').notNull(),
});

export const patients = pgTable(
  'patients',
  {
    id: text('id').primaryKey(),
    /** Medical record number, FHIR identifier with system MRN_SYSTEM. */
    mrn: text('mrn').notNull(),
    family: text('family').notNull(),
    given: text('given').notNull(),
    gender: text('gender').notNull(),
    birthDate: text('birth_date').notNull(),
    versionId: integer('version_id').notNull().default(1),
    lastUpdated: epochMs('last_updated').notNull(),
  },
  (t) => [uniqueIndex('patients_mrn').on(t.mrn)],
);

/** Which patient lies in which bed of which gateway's ward, from when until when. */
export const bedAssignments = pgTable(
  'bed_assignments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    gatewayId: text('gateway_id').notNull(),
    bedId: text('bed_id').notNull(),
    patientId: text('patient_id').notNull(),
    /** What the nurse screen shows; the only patient detail the edge ever receives. */
    displayName: text('display_name').notNull(),
    fromTime: epochMs('from_time').notNull(),
    toTime: epochMs('to_time'),
  },
  (t) => [index('bed_assignments_bed').on(t.gatewayId, t.bedId, t.fromTime)],
);

/** Alarm limit profile and overrides for a bed, sent down to its gateway with the bed list. */
export const bedAlarmSettings = pgTable(
  'bed_alarm_settings',
  {
    gatewayId: text('gateway_id').notNull(),
    bedId: text('bed_id').notNull(),
    /** A shared BedAlarmSettings document: { profile?, limits? }. */
    settings: jsonb('settings').notNull(),
    updatedAt: epochMs('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.gatewayId, t.bedId] })],
);

/**
 * FHIR resources stored as written (clinical records, not derived from device data): the current
 * version of each. `content` is the resource JSON with id and meta as the server set them.
 */
export const fhirResources = pgTable(
  'fhir_resources',
  {
    resourceType: text('resource_type').notNull(),
    id: text('id').notNull(),
    versionId: integer('version_id').notNull(),
    lastUpdated: epochMs('last_updated').notNull(),
    /** The current version is a deletion: reads answer 410 Gone, searches skip it. */
    deleted: boolean('deleted').notNull(),
    content: jsonb('content'),
  },
  (t) => [
    primaryKey({ columns: [t.resourceType, t.id] }),
    index('fhir_resources_updated').on(t.resourceType, t.lastUpdated),
  ],
);

/** Every version of every stored resource, deletions included (vread and _history). */
export const fhirHistory = pgTable(
  'fhir_history',
  {
    resourceType: text('resource_type').notNull(),
    id: text('id').notNull(),
    versionId: integer('version_id').notNull(),
    lastUpdated: epochMs('last_updated').notNull(),
    deleted: boolean('deleted').notNull(),
    /** 'create' | 'update' | 'delete': the interaction that made this version (Bundle.entry.request). */
    method: text('method').notNull(),
    content: jsonb('content'),
  },
  (t) => [
    primaryKey({ columns: [t.resourceType, t.id, t.versionId] }),
    index('fhir_history_type_updated').on(t.resourceType, t.lastUpdated),
  ],
);

/** FHIR identifier system of the medical record number. */
export const MRN_SYSTEM = 'urn:wardgate:mrn';
