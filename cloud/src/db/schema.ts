import { sql } from 'drizzle-orm';
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

import { epochMs } from './epoch-ms.ts';

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
    // Trends and charting read one parameter of one patient over a time range.
    index('readings_patient_parameter_time').on(t.patientId, t.parameter, t.deviceTime),
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
    /** The FHIR Encounter (stored resource id) of the hospital stay this bed is part of. */
    encounterId: text('encounter_id'),
  },
  (t) => [
    index('bed_assignments_bed').on(t.gatewayId, t.bedId, t.fromTime),
    index('bed_assignments_patient').on(t.patientId, t.toTime),
  ],
);

/** How far charting has read each gateway's readings (contiguous seq, like ingest_cursors). */
export const chartCursors = pgTable('chart_cursors', {
  gatewayId: text('gateway_id').primaryKey(),
  chartedSeq: bigint('charted_seq', { mode: 'number' }).notNull(),
});

/** Chart slots that have readings and are not charted yet (waiting for the slot to end). */
export const chartPending = pgTable(
  'chart_pending',
  {
    patientId: text('patient_id').notNull(),
    parameter: text('parameter').notNull(),
    slotStart: epochMs('slot_start').notNull(),
    slotEnd: epochMs('slot_end').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.patientId, t.parameter, t.slotStart] }),
    index('chart_pending_due').on(t.slotEnd),
  ],
);

/**
 * A critical value (LL / HH) in a patient's chart, open until a clinician acknowledges it. The
 * id is also the id of the stored FHIR Flag that shows it.
 */
export const clinicalAlerts = pgTable(
  'clinical_alerts',
  {
    id: text('id').primaryKey(),
    patientId: text('patient_id').notNull(),
    observationId: text('observation_id').notNull(),
    parameter: text('parameter').notNull(),
    value: doublePrecision('value').notNull(),
    unit: text('unit').notNull(),
    interpretation: text('interpretation').notNull(),
    effectiveTime: epochMs('effective_time').notNull(),
    raisedAt: epochMs('raised_at').notNull(),
    acknowledgedAt: epochMs('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by'),
    acknowledgeNote: text('acknowledge_note'),
  },
  (t) => [
    index('clinical_alerts_patient').on(t.patientId, t.raisedAt),
    // At most one open alert per patient and parameter.
    uniqueIndex('clinical_alerts_open')
      .on(t.patientId, t.parameter)
      .where(sql`acknowledged_at is null`),
  ],
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
    /**
     * 64-bit hashes of the resource's exact token and reference values (fhir_search_tokens,
     * migration 0012), GIN-indexed: the common `code=` / `patient=` conditions are one lookup.
     */
    searchTokens: bigint('search_tokens', { mode: 'number' })
      .array()
      .notNull()
      .default(sql`'{}'::bigint[]`),
  },
  (t) => [
    primaryKey({ columns: [t.resourceType, t.id] }),
    index('fhir_resources_search_tokens').using('gin', t.searchTokens),
    index('fhir_resources_updated').on(t.resourceType, t.lastUpdated),
    // Searches test "not deleted" from the index alone (index-only scans).
    index('fhir_resources_live').on(t.resourceType, t.id).where(sql`not deleted`),
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

/**
 * Search indexes of the stored FHIR resources, one table per search parameter type (as mature
 * servers lay them out): each row is one value of one parameter of the current version of a
 * resource, extracted with the parameter's FHIRPath expression from the R4 definitions.
 */
const indexColumns = {
  resourceType: text('resource_type').notNull(),
  id: text('id').notNull(),
  param: text('param').notNull(),
};

export const fhirTokenIndex = pgTable(
  'fhir_idx_token',
  { ...indexColumns, system: text('system'), code: text('code'), text: text('text') },
  (t) => [
    index('fhir_idx_token_code').on(t.resourceType, t.param, t.code, t.system),
    index('fhir_idx_token_res').on(t.resourceType, t.id, t.param, t.code, t.system),
  ],
);

export const fhirStringIndex = pgTable(
  'fhir_idx_string',
  {
    ...indexColumns,
    /** Lower case without accents, for the default starts-with and :contains matches. */
    normalized: text('normalized').notNull(),
    /** As written, for :exact. */
    exact: text('exact').notNull(),
  },
  (t) => [
    index('fhir_idx_string_value').on(t.resourceType, t.param, t.normalized),
    index('fhir_idx_string_res').on(t.resourceType, t.id, t.param, t.normalized),
  ],
);

export const fhirDateIndex = pgTable(
  'fhir_idx_date',
  {
    ...indexColumns,
    /** The range the value stands for, [start, end) in epoch ms. */
    start: epochMs('start').notNull(),
    end: epochMs('end').notNull(),
  },
  (t) => [
    index('fhir_idx_date_range').on(t.resourceType, t.param, t.start, t.end),
    index('fhir_idx_date_res').on(t.resourceType, t.id, t.param, t.start, t.end),
  ],
);

export const fhirReferenceIndex = pgTable(
  'fhir_idx_reference',
  {
    ...indexColumns,
    /** Type and id of a relative reference (Patient/123), else null with the url. */
    targetType: text('target_type'),
    targetId: text('target_id'),
    url: text('url'),
  },
  (t) => [
    index('fhir_idx_reference_target').on(t.resourceType, t.param, t.targetId, t.targetType),
    index('fhir_idx_reference_rev').on(t.targetType, t.targetId),
    index('fhir_idx_reference_res').on(t.resourceType, t.id, t.param, t.targetId, t.targetType),
  ],
);

export const fhirQuantityIndex = pgTable(
  'fhir_idx_quantity',
  {
    ...indexColumns,
    value: doublePrecision('value').notNull(),
    system: text('system'),
    code: text('code'),
    unit: text('unit'),
  },
  (t) => [
    index('fhir_idx_quantity_value').on(t.resourceType, t.param, t.value),
    index('fhir_idx_quantity_res').on(t.resourceType, t.id, t.param, t.value),
  ],
);

export const fhirNumberIndex = pgTable(
  'fhir_idx_number',
  { ...indexColumns, value: doublePrecision('value').notNull() },
  (t) => [
    index('fhir_idx_number_value').on(t.resourceType, t.param, t.value),
    index('fhir_idx_number_res').on(t.resourceType, t.id, t.param, t.value),
  ],
);

export const fhirUriIndex = pgTable(
  'fhir_idx_uri',
  { ...indexColumns, uri: text('uri').notNull() },
  (t) => [
    index('fhir_idx_uri_value').on(t.resourceType, t.param, t.uri),
    index('fhir_idx_uri_res').on(t.resourceType, t.id, t.param, t.uri),
  ],
);

/** FHIR identifier system of the medical record number. */
export const MRN_SYSTEM = 'urn:wardgate:mrn';

// ── Security: identity, sessions, care relationships, audit (issue 6) ──────────────────────────

/**
 * A person who signs in: staff (every role but `patient`) or a patient reading their own record.
 * `role` is one of auth/roles.ts ROLES. The TOTP secret is sealed with the PHI key ring.
 */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    username: text('username').notNull(),
    role: text('role').notNull(),
    passwordHash: text('password_hash').notNull(),
    passwordChangedAt: epochMs('password_changed_at').notNull(),
    /** Sealed base32 TOTP secret; set at enrolment, `mfaEnabledAt` once a first code was right. */
    mfaSecret: text('mfa_secret'),
    mfaEnabledAt: epochMs('mfa_enabled_at'),
    /** The TOTP time step last accepted: a code is good once (RFC 6238 §5.2). */
    mfaLastStep: bigint('mfa_last_step', { mode: 'number' }),
    /** When the user last completed HIPAA training; staff cannot sign in when it is over a year old. */
    trainingCompletedAt: epochMs('training_completed_at'),
    /** Role `patient`: the Patient resource id that is theirs. */
    patientId: text('patient_id'),
    /** Role `nurse`: the wards (gateway ids) they work on. */
    wards: text('wards').array().notNull().default(sql`'{}'::text[]`),
    lockedUntil: epochMs('locked_until'),
    createdAt: epochMs('created_at').notNull(),
    lastLoginAt: epochMs('last_login_at'),
    disabledAt: epochMs('disabled_at'),
  },
  (t) => [uniqueIndex('users_username').on(t.username)],
);

/** One-time MFA recovery codes (hashes); a used one keeps `usedAt`. */
export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    userId: text('user_id').notNull(),
    codeHash: text('code_hash').notNull(),
    usedAt: epochMs('used_at'),
  },
  (t) => [primaryKey({ columns: [t.userId, t.codeHash] })],
);

/** Failed sign-ins, for lockout (N in a window) and incident detection. */
export const loginFailures = pgTable(
  'login_failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    username: text('username').notNull(),
    at: epochMs('at').notNull(),
    sourceIp: text('source_ip'),
  },
  (t) => [index('login_failures_user_at').on(t.username, t.at)],
);

/**
 * A signed-in user's session, by the SHA-256 of its bearer token. `mfaPassedAt` null: only the
 * MFA step may use it. Ends at `expiresAt` (absolute), after the idle limit since `lastSeenAt`,
 * or when revoked (logout, admin).
 */
export const sessions = pgTable(
  'sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: text('user_id').notNull(),
    createdAt: epochMs('created_at').notNull(),
    lastSeenAt: epochMs('last_seen_at').notNull(),
    expiresAt: epochMs('expires_at').notNull(),
    mfaPassedAt: epochMs('mfa_passed_at'),
    revokedAt: epochMs('revoked_at'),
    sourceIp: text('source_ip'),
    userAgent: text('user_agent'),
  },
  (t) => [index('sessions_user').on(t.userId)],
);

/** An API consumer (OAuth2 client credentials) and the SMART scopes it may be granted. */
export const apiClients = pgTable('api_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes').array().notNull(),
  createdAt: epochMs('created_at').notNull(),
  revokedAt: epochMs('revoked_at'),
});

/** A short-lived access token issued to an API client, by the SHA-256 of the token. */
export const accessTokens = pgTable(
  'access_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    clientId: text('client_id').notNull(),
    scopes: text('scopes').array().notNull(),
    issuedAt: epochMs('issued_at').notNull(),
    expiresAt: epochMs('expires_at').notNull(),
    revokedAt: epochMs('revoked_at'),
  },
  (t) => [index('access_tokens_client').on(t.clientId)],
);

/** Care relationship: a doctor is responsible for a patient (from `fromTime` until `toTime`). */
export const careAssignments = pgTable(
  'care_assignments',
  {
    userId: text('user_id').notNull(),
    patientId: text('patient_id').notNull(),
    fromTime: epochMs('from_time').notNull(),
    toTime: epochMs('to_time'),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.patientId, t.fromTime] }),
    index('care_assignments_patient').on(t.patientId),
  ],
);

/** Break-the-glass: emergency access to one patient outside the care relationship, with a reason. */
export const breakGlassAccess = pgTable(
  'break_glass_access',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    patientId: text('patient_id').notNull(),
    reason: text('reason').notNull(),
    startedAt: epochMs('started_at').notNull(),
    expiresAt: epochMs('expires_at').notNull(),
    reviewedAt: epochMs('reviewed_at'),
    reviewedBy: text('reviewed_by'),
    reviewNote: text('review_note'),
  },
  (t) => [index('break_glass_user').on(t.userId, t.expiresAt)],
);

/**
 * The audit trail: append-only (a trigger refuses UPDATE and DELETE), hash-chained. `event` is the
 * FHIR AuditEvent; `hash` = SHA-256(prevHash ‖ canonical event) so any edit or gap is located by
 * audit verify. The other columns repeat what reports filter on.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    recordedAt: epochMs('recorded_at').notNull(),
    actorId: text('actor_id'),
    actorRole: text('actor_role'),
    action: text('action').notNull(),
    outcome: text('outcome').notNull(),
    patientIds: text('patient_ids').array().notNull().default(sql`'{}'::text[]`),
    event: jsonb('event').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    index('audit_log_recorded').on(t.recordedAt),
    index('audit_log_actor').on(t.actorId, t.recordedAt),
  ],
);

/** Each backup made: where, how big, its digest, and when a restore of it was verified. */
export const backupRuns = pgTable('backup_runs', {
  id: text('id').primaryKey(),
  file: text('file').notNull(),
  startedAt: epochMs('started_at').notNull(),
  finishedAt: epochMs('finished_at'),
  bytes: bigint('bytes', { mode: 'number' }),
  sha256: text('sha256'),
  rows: bigint('rows', { mode: 'number' }),
  verifiedAt: epochMs('verified_at'),
  error: text('error'),
});

// Telehealth: each feature keeps its tables beside its code.
export * from '../telehealth/appointments/schema.ts';
export * from '../telehealth/documents/schema.ts';
export * from '../telehealth/prescriptions/schema.ts';
export * from '../telehealth/summary/schema.ts';
export * from '../telehealth/video/schema.ts';
