import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createAuditLog } from '../src/audit/chain-writer.ts';
import { startAuditProjection } from '../src/audit/projection.ts';
import { verifyAuditChain } from '../src/audit/verify.ts';
import type { AuthEnv } from '../src/auth/hono-env.ts';
import type { Principal } from '../src/auth/principal.ts';
import type { Database } from '../src/db/database.ts';
import { rowsOf } from '../src/db/results.ts';
import { fhirApp } from '../src/fhir/index.ts';
import { readEntry, tamper, user } from './support/audit-entries.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON bodies are checked field by field below.
type Json = any;

const T0 = Date.UTC(2025, 0, 6, 9); // a Monday morning
const MINUTE = 60_000;
const officer = user('u-officer', 'compliance-officer');

for (const target of testDatabaseTargets()) {
  const t = suite(`audit projection to FHIR (${target.name})`);
  let database: Database;
  let app: Hono<AuthEnv>;

  t.before(async () => {
    database = await target.open();
    const audit = createAuditLog(database.db);
    app = new Hono<AuthEnv>();
    app.use('*', async (c, next) => {
      c.set('principal', officer as Principal);
      await next();
    });
    app.route('/fhir/R4', fhirApp(database.db, { audit }));

    const doctor = user('u-doc', 'doctor');
    await audit.appendMany([
      readEntry(doctor, 'p1', T0),
      readEntry(doctor, 'p2', T0 + MINUTE),
      {
        action: 'search',
        outcome: 'success',
        actor: user('u-nurse', 'nurse'),
        patientIds: ['p1', 'p2'],
        entity: 'Observation?',
        query: 'code=8867-4',
        at: T0 + 2 * MINUTE,
      },
      {
        action: 'login',
        outcome: 'failure',
        actor: { kind: 'anonymous', username: 'mallory' },
        patientIds: [],
        source: { ip: '203.0.113.9', userAgent: 'hydra' },
        at: T0 + 3 * MINUTE,
      },
      readEntry(user('u-pat', 'patient', { patientId: 'p1' }), 'p1', T0 + 4 * MINUTE),
    ]);
  });
  t.after(async () => {
    await database.close();
  });

  const get = async (path: string) => {
    const res = await app.request(`http://localhost/fhir/R4/${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const ids = (bundle: Json) =>
    (bundle.entry ?? []).map((e: Json) => e.resource.id as string).sort();

  t(
    'copies every audit row as AuditEvent/audit-<seq>, then only the new ones, and resumes after a restart',
    async () => {
      const projection = startAuditProjection(database.db, { runEverySeconds: 3600, batchSize: 2 });
      try {
        assert.equal(await projection.runNow(), { projected: 5, through: 5 });
        await createAuditLog(database.db).append(
          readEntry(user('u-doc', 'doctor'), 'p3', T0 + 5 * MINUTE),
        );
        assert.equal(await projection.runNow(), { projected: 1, through: 6 });
      } finally {
        await projection.stop();
      }
      const restarted = startAuditProjection(database.db, { runEverySeconds: 3600, batchSize: 2 });
      try {
        const run = await restarted.runNow();
        assert.is(run.projected, 0);
        assert.is(run.through, 6);
      } finally {
        await restarted.stop();
      }
    },
  );

  t('the projected AuditEvent is the logged one, read-only over the FHIR API', async () => {
    const read = await get('AuditEvent/audit-1');
    assert.is(read.status, 200, JSON.stringify(read.body));
    const [row] = rowsOf<{ event: Json }>(
      await database.db.execute(sql`select event from audit_log where seq = 1`),
    );
    const { meta, ...stored } = read.body;
    assert.equal(stored, row.event);
    assert.is(meta.versionId, '1');

    const create = await app.request('http://localhost/fhir/R4/AuditEvent', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...row.event, id: undefined }),
    });
    assert.is(create.status, 405);
  });

  t(
    'AuditEvent search: patient, agent, altid, agent-name, action, outcome, date, subtype, address',
    async () => {
      const search = async (query: string) => {
        const res = await get(`AuditEvent?${query}`);
        assert.is(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
        return ids(res.body);
      };
      assert.equal(await search('patient=Patient/p1'), ['audit-1', 'audit-3', 'audit-5']);
      assert.equal(await search('patient=p2&altid=u-doc'), ['audit-2']);
      assert.equal(await search('agent-name=mallory'), ['audit-4']);
      assert.equal(await search('agent=Patient/p1'), ['audit-5']);
      assert.equal(await search('action=E&subtype=search-type'), ['audit-3']);
      assert.equal(await search('outcome=4'), ['audit-4']);
      assert.equal(await search('address=203.0.113.9'), ['audit-4']);
      assert.equal(
        await search(
          `date=ge${new Date(T0 + 4 * MINUTE).toISOString()}&date=lt${new Date(T0 + 6 * MINUTE).toISOString()}`,
        ),
        ['audit-5', 'audit-6'],
      );
      assert.equal(await search('entity=Observation/obs-p3'), ['audit-6']);
      assert.equal(await search('type=http://dicom.nema.org/resources/ontology/DCM|110114'), [
        'audit-4',
      ]);
    },
  );

  t('verify finds a deleted tail through the projected copy of it', async () => {
    const projection = startAuditProjection(database.db, { runEverySeconds: 3600 });
    try {
      await projection.runNow();
    } finally {
      await projection.stop();
    }
    const [{ head }] = rowsOf<{ head: string | number }>(
      await database.db.execute(sql`select max(seq) as head from audit_log`),
    );
    await tamper(database.db, sql`delete from audit_log where seq > ${Number(head) - 2}`);
    const result = await verifyAuditChain(database.db);
    assert.is(result.ok, false);
    assert.equal(result.firstProblem?.seq, Number(head) - 1);
    assert.equal(result.firstProblem?.kind, 'gap');
    assert.match(result.firstProblem?.message ?? '', 'projected');
  });

  t.run();
}
