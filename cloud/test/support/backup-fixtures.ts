import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/database.ts';
import { rowsOf } from '../../src/db/results.ts';
import {
  alarmEvents,
  apiClients,
  auditLog,
  bedAlarmSettings,
  bedAssignments,
  gatewayStatus,
  gateways,
  ingestRejections,
  readings,
  users,
} from '../../src/db/schema.ts';
import { ResourceStore } from '../../src/fhir/store/resource-store.ts';
import { patientResource } from '../../src/patients/patient-record.ts';

export const backupKey = () => new Uint8Array(randomBytes(32));

/**
 * Rows in many tables with the values that break naive dumps: 64-bit integers past 2^53, floats
 * that print long (0.1, 1e-300, -0, NaN, Infinity), text arrays with commas, quotes and NULLs,
 * jsonb with a long decimal, text with quotes, backslashes, newlines and non-ASCII, nulls.
 * FHIR resources go through the store (current rows, history, search index rows).
 */
export async function seedBackupData(db: Db, options: { readings?: number } = {}): Promise<void> {
  const store = new ResourceStore(db);
  for (let i = 0; i < 5; i++) {
    await store.update(
      patientResource({
        id: `p-${i}`,
        mrn: `MRN-${1000 + i}`,
        family: i === 0 ? 'O\'Brien \\ "Zoë"' : `Family${i}`,
        given: `Given${i}`,
        gender: i % 2 ? 'female' : 'male',
        birthDate: `19${50 + i}-0${(i % 9) + 1}-1${i}`,
      }),
    );
  }
  await store.delete('Patient', 'p-4');
  const observation = await store.create({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/p-1' },
    effectiveDateTime: '2026-01-02T03:04:05Z',
    valueQuantity: {
      value: 72.125,
      unit: '/min',
      system: 'http://unitsofmeasure.org',
      code: '/min',
    },
  });
  await store.update({ ...observation.resource, status: 'amended' } as never);

  await db.insert(gateways).values([
    { id: 'gw-1', publicKey: 'pk', passwordHash: 'scrypt$x', createdAt: 1, revokedAt: null },
    { id: 'gw-2', publicKey: 'pk2', passwordHash: 'scrypt$y', createdAt: 2, revokedAt: 3 },
  ]);
  await db.insert(gatewayStatus).values({
    gatewayId: 'gw-1',
    online: true,
    snapshot: { devices: [{ id: 'd-1', link: 'up' }], note: 'line\nbreak\ttab "q" \\ ü' },
    receivedAt: 1_767_000_000_000,
  });
  await db.insert(bedAlarmSettings).values({
    gatewayId: 'gw-1',
    bedId: 'bed-1',
    settings: { profile: 'adult', limits: { hr: { low: 40, high: 130.5 } } },
    updatedAt: 5,
  });
  await db.insert(bedAssignments).values([
    { gatewayId: 'gw-1', bedId: 'bed-1', patientId: 'p-1', displayName: 'F. One', fromTime: 1 },
    {
      gatewayId: 'gw-1',
      bedId: 'bed-2',
      patientId: 'p-2',
      displayName: 'F. Two',
      fromTime: 2,
      toTime: 9,
      encounterId: 'enc-1',
    },
  ]);
  await db.insert(ingestRejections).values([
    { gatewayId: null, topic: 't/1', code: 'bad-json', message: 'm', receivedAt: 1 },
    { gatewayId: 'gw-9', topic: 't/2', code: 'foreign', message: 'm', receivedAt: 2 },
  ]);
  // A gap in the ids: the sequence stands past the highest remaining row.
  await db.execute(
    sql`delete from ingest_rejections where id = (select max(id) from ingest_rejections)`,
  );

  const values = [0.1, 1e-300, -0, 72.125, 1 / 3, 1.7976931348623157e308];
  const total = options.readings ?? 50;
  for (let start = 0; start < total; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(total, start + 1000); i++) {
      batch.push({
        gatewayId: 'gw-1',
        seq: 1_000_000 + i,
        deviceId: `dev-${i % 7}`,
        bedId: `bed-${i % 3}`,
        parameter: 'MDC_PULS_RATE',
        value: values[i % values.length],
        unit: '/min',
        deviceTime: 1_767_000_000_000 + i,
        gatewayTime: 1_767_000_000_001 + i,
        quality: 'valid',
        patientId: i % 4 === 0 ? null : `p-${i % 3}`,
        receivedAt: 1_767_000_000_002 + i,
      });
    }
    await db.insert(readings).values(batch);
  }
  // Values above 2^53 that a JS number would round: written as SQL literals.
  await db.execute(sql`
    insert into readings values
      ('gw-2', 9223372036854775807, 'd', 'b', 'p', 'NaN', 'u', 1, 2, 'ok', null, 3),
      ('gw-2', 9007199254740993, 'd', 'b', 'p', '-Infinity', 'u', 1, 2, 'ok', null, 3)`);
  await db.insert(alarmEvents).values({
    gatewayId: 'gw-1',
    seq: 1,
    alarmId: 'a-1',
    deviceId: 'dev-1',
    bedId: 'bed-1',
    source: 'device',
    condition: 'HR_HIGH',
    parameter: null,
    priority: 'high',
    kind: 'physiological',
    transition: 'raised',
    value: null,
    limit: 130,
    actor: null,
    message: null,
    time: 4,
    patientId: 'p-1',
    receivedAt: 5,
  });

  await db.insert(users).values([
    {
      id: 'u-1',
      username: 'nurse.one',
      role: 'nurse',
      passwordHash: '$argon2id$v=19$m=65536,t=2,p=1$abc$def',
      passwordChangedAt: 1,
      wards: ['gw-1', 'ward, "east"', 'back\\slash'],
      createdAt: 1,
    },
    {
      id: 'u-2',
      username: 'admin',
      role: 'administrator',
      passwordHash: 'h',
      passwordChangedAt: 1,
      mfaSecret: 'sealed:v1:xyz',
      mfaEnabledAt: 2,
      mfaLastStep: 58_000_000,
      createdAt: 1,
    },
  ]);
  await db.execute(
    sql`insert into users (id, username, role, password_hash, password_changed_at, wards, created_at) values ('u-3', 'nulls', 'doctor', 'h', 1, '{NULL,"NULL",""}', 1)`,
  );
  await db.insert(apiClients).values({
    id: 'c-1',
    name: 'lab system',
    secretHash: 'h',
    scopes: ['system/Observation.read', 'system/Patient.read'],
    createdAt: 1,
  });
  await db.insert(auditLog).values(
    Array.from({ length: 3 }, (_, i) => ({
      seq: i + 1,
      recordedAt: 1_767_000_000_000 + i,
      actorId: i === 0 ? null : 'u-1',
      actorRole: i === 0 ? null : 'nurse',
      action: 'read',
      outcome: 'success',
      patientIds: i === 2 ? [] : ['p-1', 'p-2'],
      event: { resourceType: 'AuditEvent', n: i, big: 1.5e300 },
      prevHash: i === 0 ? '0'.repeat(64) : `h${i - 1}`,
      hash: `h${i}`,
    })),
  );
  // A jsonb number with more digits than a double holds, which only the text form keeps.
  await db.execute(
    sql`insert into audit_log (seq, recorded_at, action, outcome, event, prev_hash, hash) values (4, 1, 'login', 'failure', '{"n": 123456789012345678901234567890.000000000000000001}', 'h2', 'h3')`,
  );
}

/**
 * Every row of every table, each as PostgreSQL's text of the whole row, sorted; and each
 * sequence's state. Independent of the backup code: what "identical" is checked against.
 */
export async function snapshotOf(db: Db, tables: string[]) {
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    const rows = rowsOf<{ row: string }>(
      await db.execute(sql`select t::text as row from ${sql.identifier(table)} t order by 1`),
    );
    out[table] = rows.map((r) => r.row);
  }
  const sequences = rowsOf<{ name: string }>(
    await db.execute(
      sql`select relname as name from pg_class where relkind = 'S' and relnamespace = 'public'::regnamespace order by 1`,
    ),
  );
  for (const { name } of sequences) {
    const [state] = rowsOf<{ state: string }>(
      await db.execute(
        sql`select last_value::text || '/' || is_called::text as state from ${sql.identifier(name)}`,
      ),
    );
    out[`sequence ${name}`] = [state.state];
  }
  return out;
}
