import type { AuditAction, AuditEntry, AuditOutcome } from './audit-entry.ts';

// An AuditEntry as a FHIR R4 AuditEvent, in the codes of the IHE Basic Audit Log Patterns:
// DICOM event types, FHIR restful-interaction subtypes, HL7 v3 PurposeOfUse.

export interface Coding {
  system: string;
  code: string;
  display: string;
}

export const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
export const REST_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const PURPOSE_OF_USE = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
/** The systems our own identifiers and role codes live in. */
export const USER_SYSTEM = 'urn:wardgate:user';
export const CLIENT_SYSTEM = 'urn:wardgate:client';
export const ROLE_SYSTEM = 'urn:wardgate:role';
/** Who wrote the record: every AuditEvent's source.observer. */
export const OBSERVER = 'wardgate-cloud';

const dicom = (code: string, display: string): Coding => ({ system: DICOM, code, display });
const rest = (code: string): Coding => ({ system: REST_INTERACTION, code, display: code });

const PATIENT_RECORD = dicom('110110', 'Patient Record');
const EXPORT = dicom('110106', 'Export');
const USER_AUTHENTICATION = dicom('110114', 'User Authentication');
const SECURITY_ALERT = dicom('110113', 'Security Alert');
const LOGIN = dicom('110122', 'Login');
const LOGOUT = dicom('110123', 'Logout');

/** FHIR AuditEvent.action: Create, Read/view/print, Update, Delete, Execute. */
export const ACTION_CODE: Record<AuditAction, 'C' | 'R' | 'U' | 'D' | 'E'> = {
  read: 'R',
  vread: 'R',
  history: 'R',
  search: 'E',
  create: 'C',
  update: 'U',
  delete: 'D',
  export: 'R',
  login: 'E',
  mfa: 'E',
  logout: 'E',
  lockout: 'E',
  'session-expired': 'E',
  token: 'E',
  denied: 'E',
  'break-glass': 'E',
  admin: 'E',
};

/**
 * AuditEvent.outcome: 0 success; 4 minor failure (the request failed: a wrong password, a bad
 * request); 8 serious failure (access control refused it: a security-relevant attempt).
 */
export const OUTCOME_CODE: Record<AuditOutcome, '0' | '4' | '8'> = {
  success: '0',
  failure: '4',
  denied: '8',
};

export const AUDIT_ACTIONS = Object.keys(ACTION_CODE) as AuditAction[];
export const AUDIT_OUTCOMES = Object.keys(OUTCOME_CODE) as AuditOutcome[];

/** The actions that read or write a patient's record (reports and incident detection count them). */
export const PHI_ACTIONS: readonly AuditAction[] = [
  'read',
  'vread',
  'history',
  'search',
  'create',
  'update',
  'delete',
  'export',
];
export const WRITE_ACTIONS: readonly AuditAction[] = ['create', 'update', 'delete'];

/** `Type/id`, `Type/id/_history/n`, `Type/id/$op`, `Type?query`, `Type`: the parts we use. */
const FHIR_ENTITY = /^([A-Z][A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64}))?(\/_history(?:\/\d+)?)?/;

function eventType(entry: AuditEntry): { type: Coding; subtype?: Coding } {
  switch (entry.action) {
    case 'read':
      return { type: PATIENT_RECORD, subtype: rest('read') };
    case 'vread':
      return { type: PATIENT_RECORD, subtype: rest('vread') };
    case 'history': {
      const m = entry.entity ? FHIR_ENTITY.exec(entry.entity) : null;
      return { type: PATIENT_RECORD, subtype: rest(m?.[2] ? 'history-instance' : 'history-type') };
    }
    case 'search':
      return { type: PATIENT_RECORD, subtype: rest('search-type') };
    case 'create':
      return { type: PATIENT_RECORD, subtype: rest('create') };
    case 'update':
      return { type: PATIENT_RECORD, subtype: rest('update') };
    case 'delete':
      return { type: PATIENT_RECORD, subtype: rest('delete') };
    case 'export':
      return { type: EXPORT };
    case 'login':
    case 'mfa':
    case 'token':
      return { type: USER_AUTHENTICATION, subtype: LOGIN };
    case 'logout':
    case 'session-expired':
      return { type: USER_AUTHENTICATION, subtype: LOGOUT };
    case 'lockout':
      return {
        type: SECURITY_ALERT,
        subtype: dicom('110137', 'User Security Attributes Changed'),
      };
    case 'denied':
      return { type: SECURITY_ALERT, subtype: dicom('110132', 'Use of Restricted Function') };
    case 'break-glass':
      return { type: SECURITY_ALERT, subtype: dicom('110127', 'Emergency Override Started') };
    case 'admin':
      return { type: SECURITY_ALERT, subtype: dicom('110136', 'Security Roles Changed') };
  }
}

/** The columns reports filter on: who acted, in which role. */
export function actorColumns(actor: AuditEntry['actor']): {
  actorId: string | null;
  actorRole: string | null;
} {
  switch (actor.kind) {
    case 'user':
      return { actorId: actor.id, actorRole: actor.role };
    case 'client':
      return { actorId: actor.id, actorRole: 'client' };
    case 'system':
      return { actorId: actor.id, actorRole: 'system' };
    case 'anonymous':
      // A failed sign-in: the username tried is what incident detection groups by.
      return { actorId: actor.username ?? null, actorRole: 'anonymous' };
  }
}

const MAX_TEXT = 512;
const clip = (text: string) => (text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text);

function requestor(entry: AuditEntry): Record<string, unknown> {
  const actor = entry.actor;
  const agent: Record<string, unknown> = { requestor: true };
  switch (actor.kind) {
    case 'user':
      agent.type = {
        coding: [{ system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }],
      };
      agent.role = [{ coding: [{ system: ROLE_SYSTEM, code: actor.role }], text: actor.role }];
      agent.who = {
        ...(actor.patientId ? { reference: `Patient/${actor.patientId}` } : {}),
        identifier: { system: USER_SYSTEM, value: actor.id },
        display: actor.username,
      };
      agent.altId = actor.id;
      agent.name = actor.username;
      break;
    case 'client':
      agent.role = [{ coding: [{ system: ROLE_SYSTEM, code: 'client' }], text: 'API client' }];
      agent.who = { identifier: { system: CLIENT_SYSTEM, value: actor.id }, display: actor.name };
      agent.altId = actor.id;
      agent.name = actor.name;
      break;
    case 'system':
      agent.role = [{ coding: [{ system: ROLE_SYSTEM, code: 'system' }], text: 'system' }];
      agent.who = { identifier: { system: 'urn:wardgate:system', value: actor.id } };
      agent.altId = actor.id;
      agent.name = actor.id;
      break;
    case 'anonymous':
      agent.role = [{ coding: [{ system: ROLE_SYSTEM, code: 'anonymous' }], text: 'anonymous' }];
      if (actor.username) {
        agent.who = { identifier: { system: USER_SYSTEM, value: actor.username } };
        agent.name = clip(actor.username);
      }
      break;
  }
  if (entry.source?.ip) agent.network = { address: entry.source.ip, type: '2' };
  if (entry.purposeOfUse) agent.purposeOfUse = [purposeOfUse(entry.purposeOfUse)];
  return agent;
}

function purposeOfUse(code: string) {
  return { coding: [{ system: PURPOSE_OF_USE, code }] };
}

/**
 * The software that sent the request, as the second agent (DICOM "Source Role ID"): its user
 * agent string and address. Absent when the request named no user agent.
 */
function userAgentAgent(entry: AuditEntry): Record<string, unknown> | undefined {
  const userAgent = entry.source?.userAgent;
  if (!userAgent) return undefined;
  return {
    type: { coding: [dicom('110153', 'Source Role ID')] },
    who: { display: clip(userAgent) },
    requestor: false,
    ...(entry.source?.ip ? { network: { address: entry.source.ip, type: '2' } } : {}),
  };
}

function entities(entry: AuditEntry): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const query = entry.query ? Buffer.from(entry.query, 'utf8').toString('base64') : undefined;
  let objectIsPatient = false;
  for (const id of new Set(entry.patientIds)) {
    const patient: Record<string, unknown> = {
      what: { reference: `Patient/${id}`, type: 'Patient' },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    };
    if (entry.entity === `Patient/${id}`) objectIsPatient = true;
    out.push(patient);
  }
  if (entry.entity && !objectIsPatient) {
    const m = FHIR_ENTITY.exec(entry.entity);
    const isSearch = entry.action === 'search' || entry.entity.includes('?');
    const what: Record<string, unknown> = {};
    if (m?.[2] && !isSearch) what.reference = `${m[1]}/${m[2]}`;
    if (m) what.type = m[1];
    if (!what.reference) what.display = clip(entry.entity);
    out.push({
      what,
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: isSearch
        ? { system: OBJECT_ROLE, code: '24', display: 'Query' }
        : m
          ? { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' }
          : { system: OBJECT_ROLE, code: '13', display: 'Security Resource' },
      ...(query ? { query } : {}),
    });
  } else if (query) {
    out.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      query,
    });
  }
  return out;
}

/**
 * The FHIR AuditEvent of an entry recorded at `recordedAt` (without id: the chain gives it
 * `audit-<seq>`). `site` names the process that wrote it (its host).
 */
export function auditEvent(
  entry: AuditEntry,
  recordedAt: number,
  site: string,
): Record<string, unknown> {
  const { type, subtype } = eventType(entry);
  const agents = [requestor(entry)];
  const software = userAgentAgent(entry);
  if (software) agents.push(software);
  const entity = entities(entry);
  const event: Record<string, unknown> = {
    resourceType: 'AuditEvent',
    type,
    ...(subtype ? { subtype: [subtype] } : {}),
    action: ACTION_CODE[entry.action],
    recorded: new Date(recordedAt).toISOString(),
    outcome: OUTCOME_CODE[entry.outcome],
    ...(entry.outcome !== 'success' || entry.detail
      ? { outcomeDesc: clip(entry.detail ? `${entry.outcome}: ${entry.detail}` : entry.outcome) }
      : {}),
    ...(entry.purposeOfUse ? { purposeOfEvent: [purposeOfUse(entry.purposeOfUse)] } : {}),
    agent: agents,
    source: {
      site,
      observer: { identifier: { value: OBSERVER }, display: OBSERVER },
      type: [{ system: SOURCE_TYPE, code: '3', display: 'Web Server' }],
    },
    ...(entity.length > 0 ? { entity } : {}),
  };
  return event;
}

/** A refusal of a malformed entry, before it can join (and fail) a batch of others. */
export function entryProblem(entry: AuditEntry): string | undefined {
  if (!entry || typeof entry !== 'object') return 'an audit entry must be an object';
  if (!(entry.action in ACTION_CODE)) return `unknown audit action ${String(entry.action)}`;
  if (!(entry.outcome in OUTCOME_CODE)) return `unknown audit outcome ${String(entry.outcome)}`;
  if (!entry.actor || typeof entry.actor !== 'object') return 'an audit entry needs an actor';
  if (!Array.isArray(entry.patientIds) || entry.patientIds.some((p) => typeof p !== 'string'))
    return 'patientIds must be an array of Patient ids';
  if (entry.at !== undefined && !Number.isFinite(entry.at)) return 'at must be epoch milliseconds';
  return undefined;
}
