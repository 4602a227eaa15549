import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditEntry } from '../src/audit/audit-entry.ts';
import {
  ACTION_CODE,
  AUDIT_ACTIONS,
  actorColumns,
  auditEvent,
  DICOM,
  REST_INTERACTION,
} from '../src/audit/audit-event.ts';
import { canonicalJson } from '../src/audit/chain-hash.ts';
import { validateStructure } from '../src/fhir/validation/validate-structure.ts';
import { client, user } from './support/audit-entries.ts';

// biome-ignore lint/suspicious/noExplicitAny: the AuditEvent is checked element by element.
type Json = any;

const AT = Date.UTC(2025, 2, 4, 10, 30);
const event = (entry: AuditEntry): Json => ({
  ...auditEvent(entry, AT, 'cloud-1'),
  id: 'audit-1',
});

test('a PHI read: Patient Record / read, who, role, patients, resource, address, user agent', () => {
  const e = event({
    action: 'read',
    outcome: 'success',
    actor: user('u-1', 'doctor'),
    patientIds: ['p-7', 'p-7'],
    entity: 'Observation/obs-1',
    source: { ip: '192.0.2.10', userAgent: 'Mozilla/5.0 (X11)' },
    purposeOfUse: 'TREAT',
  });
  assert.equal(e.type, { system: DICOM, code: '110110', display: 'Patient Record' });
  assert.equal(e.subtype, [{ system: REST_INTERACTION, code: 'read', display: 'read' }]);
  assert.is(e.action, 'R');
  assert.is(e.outcome, '0');
  assert.is(e.recorded, '2025-03-04T10:30:00.000Z');
  assert.is(e.outcomeDesc, undefined);
  const [who, software] = e.agent;
  assert.equal(who.who, {
    identifier: { system: 'urn:wardgate:user', value: 'u-1' },
    display: 'u-1-name',
  });
  assert.is(who.altId, 'u-1');
  assert.is(who.requestor, true);
  assert.equal(who.role[0].coding[0].code, 'doctor');
  assert.equal(who.network, { address: '192.0.2.10', type: '2' });
  assert.equal(who.purposeOfUse[0].coding[0].code, 'TREAT');
  assert.equal(e.purposeOfEvent[0].coding[0].code, 'TREAT');
  assert.equal(software.who, { display: 'Mozilla/5.0 (X11)' });
  assert.is(software.requestor, false);
  assert.equal(e.source.observer.display, 'wardgate-cloud');
  assert.is(e.source.site, 'cloud-1');
  // One patient entity (duplicates merged), then the Observation.
  assert.is(e.entity.length, 2);
  assert.equal(e.entity[0].what, { reference: 'Patient/p-7', type: 'Patient' });
  assert.equal(e.entity[0].role.code, '1');
  assert.equal(e.entity[1].what, { reference: 'Observation/obs-1', type: 'Observation' });
  assert.equal(validateStructure(e), []);
});

test('a search keeps its redacted query (base64) on a Query entity; history is -instance or -type', () => {
  const e = event({
    action: 'search',
    outcome: 'success',
    actor: client('c-1', ['system/Observation.read']),
    patientIds: [],
    entity: 'Observation?',
    query: 'code=8867-4&name=***',
  });
  assert.equal(e.subtype[0].code, 'search-type');
  assert.is(e.action, 'E');
  assert.equal(e.entity[0].role.code, '24');
  assert.is(Buffer.from(e.entity[0].query, 'base64').toString(), 'code=8867-4&name=***');
  assert.is(e.entity[0].what.type, 'Observation');
  assert.equal(e.agent[0].who.identifier, { system: 'urn:wardgate:client', value: 'c-1' });
  assert.equal(validateStructure(e), []);

  const history: AuditEntry = {
    action: 'history',
    outcome: 'success',
    actor: user('u-1', 'nurse'),
    patientIds: ['p1'],
    entity: 'Observation/o1/_history',
  };
  assert.is(event(history).subtype[0].code, 'history-instance');
  assert.is(event({ ...history, entity: 'Observation/_history' }).subtype[0].code, 'history-type');
});

test('security events: authentication login/logout, security alerts, outcomes 4 and 8', () => {
  const failedLogin: AuditEntry = {
    action: 'login',
    outcome: 'failure',
    actor: { kind: 'anonymous', username: 'mallory' },
    patientIds: [],
    source: { ip: '203.0.113.5', userAgent: null },
    detail: 'wrong password',
  };
  const failed = event(failedLogin);
  assert.equal([failed.type.code, failed.subtype[0].code], ['110114', '110122']);
  assert.equal([failed.action, failed.outcome], ['E', '4']);
  assert.is(failed.outcomeDesc, 'failure: wrong password');
  assert.is(failed.agent[0].name, 'mallory');
  assert.is(failed.agent.length, 1, 'no user agent, no second agent');
  assert.equal(actorColumns({ kind: 'anonymous', username: 'mallory' }), {
    actorId: 'mallory',
    actorRole: 'anonymous',
  });

  const logout = event({ ...failedLogin, action: 'logout', outcome: 'success', detail: undefined });
  assert.equal([logout.type.code, logout.subtype[0].code], ['110114', '110123']);

  for (const [action, subtype] of [
    ['lockout', '110137'],
    ['denied', '110132'],
    ['break-glass', '110127'],
  ] as const) {
    const e = event({
      action,
      outcome: action === 'denied' ? 'denied' : 'success',
      actor: user('u-2', 'nurse'),
      patientIds: action === 'break-glass' ? ['p-9'] : [],
      purposeOfUse: action === 'break-glass' ? 'ETREAT' : undefined,
      detail: 'reason words',
    });
    assert.equal([e.type.code, e.subtype[0].code], ['110113', subtype], action);
    if (action === 'denied') assert.is(e.outcome, '8');
    assert.equal(validateStructure(e), [], action);
  }
});

test('every action gives an AuditEvent that passes the R4 structure definition', () => {
  for (const action of AUDIT_ACTIONS) {
    const e = event({
      action,
      outcome: 'success',
      actor: user('u-3', 'patient', { patientId: 'p-3' }),
      patientIds: ['p-3'],
      entity: action === 'admin' ? 'users/u-9' : 'Patient/p-3',
      source: { ip: '::1', userAgent: 'curl/8.5' },
    });
    assert.is(e.action, ACTION_CODE[action]);
    assert.equal(validateStructure(e), [], action);
  }
  // A patient signed in is a Patient as agent too: `agent=Patient/p-3` finds what they did.
  const own = event({
    action: 'read',
    outcome: 'success',
    actor: user('u-3', 'patient', { patientId: 'p-3' }),
    patientIds: ['p-3'],
  });
  assert.is(own.agent[0].who.reference, 'Patient/p-3');
});

test('canonical JSON: keys sorted at every level, undefined dropped, same text for any key order', () => {
  assert.is(
    canonicalJson({ b: 1, a: [{ d: 'x', c: null }], e: undefined }),
    '{"a":[{"c":null,"d":"x"}],"b":1}',
  );
  assert.is(canonicalJson({ z: { y: 1, x: 2 } }), canonicalJson({ z: { x: 2, y: 1 } }));
});

test.run();
