import { desc } from 'drizzle-orm';
import { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditEntry } from '../src/audit/audit-entry.ts';
import { type ChainedAuditLog, createAuditLog } from '../src/audit/chain-writer.ts';
import { type AuditAppOptions, auditApp } from '../src/audit/routes.ts';
import type { AuthEnv } from '../src/auth/hono-env.ts';
import type { Principal } from '../src/auth/principal.ts';
import { encryptionCoverage } from '../src/crypto/coverage.ts';
import { keyRingOf } from '../src/crypto/db-key-ring.ts';
import { BREAK_GLASS_REASON } from '../src/crypto/sealed-text.ts';
import type { Database } from '../src/db/database.ts';
import {
  apiClients,
  auditLog,
  backupRuns,
  breakGlassAccess,
  sessions,
  users,
} from '../src/db/schema.ts';
import { client, readEntry, user } from './support/audit-entries.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Monday 2025-01-06 08:00 UTC: the day the seeded log covers. */
const T0 = Date.UTC(2025, 0, 6, 8);
/** When the reports are asked for. */
const NOW = Date.UTC(2025, 0, 8);

const doctor = user('u-doc', 'doctor');
const nurse = user('u-nurse', 'nurse');
const snoop = user('u-snoop', 'nurse');
const patient = user('u-pat', 'patient', { patientId: 'p1' });
const officer = user('u-officer', 'compliance-officer');
const lab = client('c-lab', [
  'system/Observation.read',
  'system/Patient.read',
  'system/Observation.write',
]);

function failedLogin(username: string, ip: string, at: number): AuditEntry {
  return {
    action: 'login',
    outcome: 'failure',
    actor: { kind: 'anonymous', username },
    patientIds: [],
    source: { ip, userAgent: 'hydra' },
    detail: 'wrong password',
    at,
  };
}

/** The day's log, as the rest of the cloud would write it (times controlled). */
function seededEntries(): AuditEntry[] {
  const entries: AuditEntry[] = [];
  const at = (minutes: number) => T0 + minutes * MINUTE;
  for (const [i, p] of ['p1', 'p2', 'p3'].entries()) entries.push(readEntry(doctor, p, at(10 + i)));
  entries.push({
    action: 'create',
    outcome: 'success',
    actor: nurse,
    patientIds: ['p1'],
    entity: 'Observation/new-1',
    at: at(20),
  });
  // Brute force on one username from one address, then the lockout.
  for (let i = 0; i < 6; i++) entries.push(failedLogin('mallory', '203.0.113.9', at(60 + i * 2)));
  entries.push({
    action: 'lockout',
    outcome: 'success',
    actor: { kind: 'anonymous', username: 'mallory' },
    patientIds: [],
    source: { ip: '203.0.113.9', userAgent: 'hydra' },
    at: at(71),
  });
  // A few failures for bob from different places: below every threshold.
  for (let i = 0; i < 3; i++) entries.push(failedLogin('bob', `192.0.2.${i}`, at(80 + i)));
  // One address trying five usernames: password spraying.
  for (let i = 0; i < 5; i++) entries.push(failedLogin(`user${i}`, '198.51.100.2', at(90 + i)));
  // One nurse opening 60 patients' records in half an hour.
  for (let i = 0; i < 60; i++) entries.push(readEntry(snoop, `s${i}`, at(120 + i / 2)));
  entries.push({
    action: 'break-glass',
    outcome: 'success',
    actor: nurse,
    patientIds: ['p9'],
    purposeOfUse: 'ETREAT',
    detail: 'cardiac arrest in corridor',
    at: at(180),
  });
  entries.push({
    action: 'denied',
    outcome: 'denied',
    actor: patient,
    patientIds: [],
    entity: 'Observation/obs-p2',
    detail: 'read: not your record',
    at: at(190),
  });
  entries.push({
    action: 'search',
    outcome: 'success',
    actor: lab,
    patientIds: ['p1', 'p2'],
    entity: 'Observation?',
    query: 'code=8867-4',
    at: at(240),
  });
  // The doctor, late at night: 23:30 and 23:45 (one incident), then 02:00 the next day.
  entries.push(readEntry(doctor, 'p1', Date.UTC(2025, 0, 6, 23, 30)));
  entries.push(readEntry(doctor, 'p2', Date.UTC(2025, 0, 6, 23, 45)));
  entries.push(readEntry(doctor, 'p3', Date.UTC(2025, 0, 7, 2, 0)));
  return entries;
}

async function seedAccounts(database: Database) {
  const { db } = database;
  const account = (id: string, role: string, fields: Partial<typeof users.$inferInsert>) => ({
    id,
    username: `${id}-name`,
    role,
    passwordHash: 'x',
    passwordChangedAt: NOW - 400 * DAY,
    createdAt: NOW - 400 * DAY,
    trainingCompletedAt: NOW - 30 * DAY,
    lastLoginAt: NOW - DAY,
    ...fields,
  });
  await db.insert(users).values([
    account('u-doc', 'doctor', {}),
    account('u-nurse', 'nurse', {
      trainingCompletedAt: NOW - 800 * DAY,
      lastLoginAt: NOW - 200 * DAY,
    }),
    account('u-snoop', 'nurse', {}),
    account('u-old', 'doctor', { lastLoginAt: NOW - 200 * DAY, trainingCompletedAt: null }),
    account('u-new', 'billing-specialist', { lastLoginAt: null, createdAt: NOW - 2 * DAY }),
    account('u-officer', 'compliance-officer', {}),
    account('u-pat', 'patient', { trainingCompletedAt: null, patientId: 'p1' }),
    account('u-gone', 'doctor', { lastLoginAt: null, disabledAt: NOW - 10 * DAY }),
  ]);
  // The nurse signed in long ago but her session was in use yesterday: not stale.
  await db.insert(sessions).values({
    tokenHash: 'h1',
    userId: 'u-nurse',
    createdAt: NOW - 200 * DAY,
    lastSeenAt: NOW - DAY,
    expiresAt: NOW + DAY,
  });
  await db.insert(apiClients).values([
    {
      id: 'c-lab',
      name: 'lab',
      secretHash: 'x',
      scopes: lab.kind === 'client' ? lab.scopes : [],
      createdAt: NOW - 100 * DAY,
    },
    {
      id: 'c-old',
      name: 'old',
      secretHash: 'x',
      scopes: ['system/*.read'],
      createdAt: NOW - 100 * DAY,
      revokedAt: NOW - DAY,
    },
  ]);
  await db.insert(breakGlassAccess).values([
    {
      id: 'bg-1',
      userId: 'u-nurse',
      patientId: 'p9',
      // Stored sealed, as the break-the-glass route does.
      reason: BREAK_GLASS_REASON.seal(keyRingOf(db), 'bg-1', 'cardiac arrest in corridor'),
      startedAt: T0 + 180 * MINUTE,
      expiresAt: T0 + 240 * MINUTE,
    },
    {
      id: 'bg-0',
      userId: 'u-doc',
      patientId: 'p4',
      reason: 'unconscious on arrival',
      startedAt: T0 - 10 * DAY,
      expiresAt: T0 - 10 * DAY + 3_600_000,
      reviewedAt: T0 - 9 * DAY,
      reviewedBy: 'u-officer',
    },
  ]);
  await db.insert(backupRuns).values([
    {
      id: 'b-1',
      file: 'backup-1.wgb',
      startedAt: NOW - DAY,
      finishedAt: NOW - DAY + 60_000,
      bytes: 1234,
      sha256: 'a'.repeat(64),
      rows: 99,
      verifiedAt: NOW - DAY + 120_000,
    },
    { id: 'b-2', file: 'backup-2.wgb', startedAt: NOW - 3_600_000, error: 'disk full' },
  ]);
}

for (const target of testDatabaseTargets()) {
  const t = suite(`audit reports (${target.name})`);
  let database: Database;
  let log: ChainedAuditLog;
  let seeded = 0;

  const appAs = (principal: Principal | null, options: AuditAppOptions = {}) => {
    const app = new Hono<AuthEnv>();
    app.use('*', async (c, next) => {
      if (principal) c.set('principal', principal);
      await next();
    });
    app.route(
      '/api',
      auditApp(database.db, log, {
        now: () => NOW,
        encryptionCoverage: async () => ({
          status: 'ok',
          encryptedColumns: 12,
          plaintextValues: 0,
        }),
        ...options,
      }),
    );
    return app;
  };
  const get = async (
    path: string,
    principal: Principal | null = officer,
    options?: AuditAppOptions,
  ) => {
    const res = await appAs(principal, options).request(`http://localhost/api${path}`, {
      headers: { 'user-agent': 'report-tests' },
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const lastRecord = async () => {
    const [row] = await database.db.select().from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
    return row;
  };

  t.before(async () => {
    database = await target.open();
    log = createAuditLog(database.db);
    const entries = seededEntries();
    seeded = entries.length;
    await log.appendMany(entries);
    await seedAccounts(database);
  });
  t.after(async () => {
    await database.close();
  });

  t(
    'only the compliance officer or a client with AuditEvent read: 401, 403 (audited), 200',
    async () => {
      assert.is((await get('/audit/report', null)).status, 401);
      const refused = await get('/audit/report', doctor);
      assert.is(refused.status, 403);
      assert.is(refused.body.error.code, 'forbidden');
      const denial = await lastRecord();
      assert.equal([denial.action, denial.outcome, denial.actorId], ['denied', 'denied', 'u-doc']);
      assert.is(
        (await get('/compliance/report', client('c-x', ['system/Observation.read']))).status,
        403,
      );
      assert.is(
        (await get('/audit/verify', client('c-siem', ['system/AuditEvent.read']))).status,
        200,
      );
    },
  );

  t('bad query parameters are a 400 that says what is wrong', async () => {
    for (const [path, words] of [
      ['/audit/report?from=yesterday', 'from must be a date'],
      ['/audit/report?from=2025-01-07&to=2025-01-06', 'from must be before to'],
      ['/audit/report?from=2025-01-06T08:00:00', 'with a zone'],
      ['/audit/report?patient=p1', 'unknown parameter "patient"'],
      ['/audit/report?user=', 'user must be an id'],
      ['/audit/incidents?from=2025-02-30', 'from must be a date'],
      ['/audit/verify?head=12', 'head must be SEQ:HASH'],
      ['/compliance/report?to=2025-01-06&to=2025-01-07', 'to is given twice'],
    ]) {
      const res = await get(path);
      assert.is(res.status, 400, path);
      assert.is(res.body.error.code, 'invalid_query', path);
      assert.match(res.body.error.message, words, path);
    }
  });

  t('report: totals by action and outcome, per user, unique patients; one user', async () => {
    const before = (await lastRecord()).seq;
    const { status, body } = await get('/audit/report?from=2025-01-06&to=2025-01-06');
    assert.is(status, 200);
    assert.equal(body.period, { from: '2025-01-06T00:00:00.000Z', to: '2025-01-07T00:00:00.000Z' });
    // Everything but the 02:00 read of the next day.
    assert.is(body.totals.events, seeded - 1);
    assert.equal(body.totals.byAction, {
      read: 65,
      create: 1,
      login: 14,
      lockout: 1,
      'break-glass': 1,
      denied: 1,
      search: 1,
    });
    assert.equal(body.totals.byOutcome, { success: 69, failure: 14, denied: 1 });
    assert.equal(body.totals.byActionAndOutcome.login, { failure: 14 });
    // p1 p2 p3, s0..s59, p9
    assert.is(body.totals.uniquePatients, 64);
    const snooper = body.users.find((u: Json) => u.id === 'u-snoop');
    assert.equal(
      [snooper.role, snooper.events, snooper.uniquePatients, snooper.byAction],
      ['nurse', 60, 60, { read: 60 }],
    );
    assert.is(body.users[0].id, 'u-snoop', 'most active first');
    const mallory = body.users.find((u: Json) => u.id === 'mallory');
    assert.equal([mallory.role, mallory.byAction], ['anonymous', { login: 6, lockout: 1 }]);

    const one = await get('/audit/report?from=2025-01-06&to=2025-01-07&user=u-doc');
    assert.is(one.body.user, 'u-doc');
    assert.equal(one.body.totals.byAction, { read: 6 });
    assert.is(one.body.totals.uniquePatients, 3);
    assert.equal(
      one.body.users.map((u: Json) => u.id),
      ['u-doc'],
    );
    assert.is(one.body.users[0].firstAt, '2025-01-06T08:10:00.000Z');
    assert.is(one.body.users[0].lastAt, '2025-01-07T02:00:00.000Z');

    // Reading a report is itself audited.
    const [read] = await database.db.select().from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
    assert.is(read.seq, before + 2);
    assert.equal(
      [read.action, read.outcome, read.actorId, read.actorRole],
      ['read', 'success', 'u-officer', 'compliance-officer'],
    );
    const event = read.event as Json;
    assert.is(event.entity[0].what.display, 'AuditEvent/$report');
    assert.is(
      Buffer.from(event.entity[0].query, 'base64').toString(),
      'from=2025-01-06&to=2025-01-07&user=u-doc',
    );
    assert.is(event.purposeOfEvent[0].coding[0].code, 'HCOMPL');
  });

  t(
    'incidents: brute force, spraying, lockout, many patients, after hours, break-the-glass',
    async () => {
      const { status, body } = await get('/audit/incidents?from=2025-01-06&to=2025-01-07');
      assert.is(status, 200);
      const kinds = body.incidents.map((i: Json) => i.kind);
      assert.equal(kinds, [
        'failed-logins-user',
        'failed-logins-ip',
        'lockout',
        'failed-logins-ip',
        'many-patients',
        'break-glass',
        'after-hours',
        'after-hours',
      ]);
      const [bruteUser, bruteIp, lockout, spray, many, breakGlass, night1, night2] = body.incidents;
      assert.equal(
        [bruteUser.username, bruteUser.events, bruteUser.from, bruteUser.to],
        ['mallory', 6, '2025-01-06T09:00:00.000Z', '2025-01-06T09:10:00.000Z'],
      );
      assert.equal([bruteIp.ip, bruteIp.events], ['203.0.113.9', 6]);
      assert.equal([lockout.username, lockout.ip], ['mallory', '203.0.113.9']);
      assert.equal([spray.ip, spray.events], ['198.51.100.2', 5]);
      assert.equal([many.actor, many.severity], [{ id: 'u-snoop', role: 'nurse' }, 'high']);
      assert.ok(many.patients >= 50 && many.events >= 50, JSON.stringify(many));
      assert.is(many.lastSeq - many.firstSeq, 59);
      assert.equal(
        [breakGlass.actor.id, breakGlass.patients, breakGlass.severity],
        ['u-nurse', 1, 'high'],
      );
      assert.equal(
        [night1.actor.id, night1.events, night1.from, night1.to],
        ['u-doc', 2, '2025-01-06T23:30:00.000Z', '2025-01-06T23:45:00.000Z'],
      );
      assert.equal([night2.events, night2.from], [1, '2025-01-07T02:00:00.000Z']);

      // Thresholds and working hours are configurable.
      const lenient = await get('/audit/incidents?from=2025-01-06&to=2025-01-07', officer, {
        incidents: {
          failedLogins: { threshold: 3, windowMinutes: 5 },
          manyPatients: { threshold: 100, windowMinutes: 60 },
          workingHours: null,
        },
      });
      assert.equal(
        lenient.body.incidents.map((i: Json) => `${i.kind}:${i.username ?? i.ip ?? i.actor?.id}`),
        [
          'failed-logins-user:mallory',
          'failed-logins-ip:203.0.113.9',
          'lockout:mallory',
          'failed-logins-user:bob',
          'failed-logins-ip:198.51.100.2',
          'break-glass:u-nurse',
        ],
      );
      // Working hours in a zone: New York, 07:00-22:00 on weekdays. The morning's accesses (03:10
      // to 05:30 there) are after hours; the late ones (18:30 to 21:00 there) are not.
      const newYork = await get('/audit/incidents?from=2025-01-06&to=2025-01-07', officer, {
        incidents: {
          workingHours: {
            startMinute: 7 * 60,
            endMinute: 22 * 60,
            days: [1, 2, 3, 4, 5],
            timeZone: 'America/New_York',
            mergeMinutes: 60,
          },
        },
      });
      assert.equal(
        newYork.body.incidents
          .filter((i: Json) => i.kind === 'after-hours')
          .map((i: Json) => [i.actor.id, i.from, i.events]),
        [
          ['u-doc', '2025-01-06T08:10:00.000Z', 3],
          ['u-nurse', '2025-01-06T08:20:00.000Z', 1],
          ['u-snoop', '2025-01-06T10:00:00.000Z', 60],
        ],
      );
    },
  );

  t('verify: the chain and its head; a head from before is checked', async () => {
    const first = await get('/audit/verify');
    assert.is(first.status, 200);
    assert.is(first.body.ok, true);
    assert.is(first.body.headSeq, first.body.checked);
    const again = await get(`/audit/verify?head=${first.body.headSeq}:${first.body.headHash}`);
    assert.is(again.body.ok, true);
    const since = await get(`/audit/verify?since=${first.body.headSeq}:${first.body.headHash}`);
    // Only the records written since: the two verifications' own audit records.
    assert.equal(
      [since.body.ok, since.body.startedAfter, since.body.checked],
      [true, first.body.headSeq, 2],
    );
    const wrong = await get(`/audit/verify?head=${first.body.headSeq}:${'0'.repeat(64)}`);
    assert.equal([wrong.body.ok, wrong.body.firstProblem.kind], [false, 'hash-mismatch']);
  });

  t('compliance report: metrics, incidents, chain, encryption, access review, backup', async () => {
    const { status, body } = await get('/compliance/report?from=2025-01-06&to=2025-01-07');
    assert.is(status, 200);
    assert.is(body.generatedAt, new Date(NOW).toISOString());
    const m = body.accessMetrics;
    assert.equal(
      [
        m.events,
        m.phiAccesses,
        m.uniquePatients,
        m.deniedAccesses,
        m.failedSignIns,
        m.breakGlassAccesses,
      ],
      [seeded, 68, 64, 1, 14, 1],
    );
    assert.is(m.byRole.nurse, 62);
    assert.is(body.incidents.total, 8);
    assert.is(body.incidents.bySeverity.high, 2);
    assert.is(body.auditChain.ok, true);
    assert.ok(body.auditChain.headSeq >= seeded);
    assert.match(body.auditChain.headHash, /^[0-9a-f]{64}$/);
    assert.equal(body.encryption, { status: 'ok', encryptedColumns: 12, plaintextValues: 0 });

    const review = body.accessReview;
    assert.equal(
      review.staleAccounts.map((a: Json) => [a.userId, a.reason]),
      [
        ['u-new', 'never-signed-in'],
        ['u-old', 'inactive'],
      ],
    );
    assert.equal(
      review.training.map((a: Json) => [a.userId, a.status]),
      [
        ['u-nurse', 'expired'],
        ['u-old', 'missing'],
      ],
    );
    // Writers who never wrote (the nurse created an Observation); the new account is too young to judge.
    assert.equal(
      review.unusedPrivileges.filter((u: Json) => u.kind === 'user').map((u: Json) => u.userId),
      ['u-doc', 'u-old', 'u-snoop'],
    );
    const labReview = review.unusedPrivileges.find((u: Json) => u.kind === 'client');
    assert.equal(
      [labReview.clientId, labReview.unusedScopes],
      ['c-lab', ['system/Patient.read', 'system/Observation.write']],
    );
    assert.equal(
      review.openBreakGlass.map((b: Json) => [b.id, b.patientId, b.reason, b.active]),
      [['bg-1', 'p9', 'cardiac arrest in corridor', false]],
    );
    assert.equal(body.backup.status, 'ok');
    assert.equal(body.backup.lastVerified.id, 'b-1');
    assert.equal(body.backup.lastRun, {
      id: 'b-2',
      startedAt: new Date(NOW - 3_600_000).toISOString(),
      finished: false,
      error: 'disk full',
    });
    assert.ok(body.findings.length >= 5, JSON.stringify(body.findings));

    // The download is audited as an export naming the patients it discloses.
    const record = await lastRecord();
    assert.equal([record.action, record.patientIds], ['export', ['p9']]);
    assert.is((record.event as Json).type.code, '110106');
  });

  t('compliance report: a broken chain and a missing encryption check are findings', async () => {
    const { body } = await get('/compliance/report', officer, {
      encryptionCoverage: async () => {
        throw new Error('key ring not loaded');
      },
    });
    assert.equal(body.encryption, { status: 'error', message: 'key ring not loaded' });
    assert.ok(body.findings.some((f: string) => f.includes('key ring not loaded')));
    const { body: unset } = await get('/compliance/report', officer, {
      encryptionCoverage: undefined,
    });
    assert.is(unset.encryption.status, 'not-configured');
    // The phi-crypto part's own check, as the cloud wires it.
    const { body: real } = await get('/compliance/report', officer, { encryptionCoverage });
    assert.ok(
      ['ok', 'incomplete'].includes(real.encryption.status),
      JSON.stringify(real.encryption),
    );
    assert.ok(Array.isArray(real.encryption.columns));
  });

  t.run();
}
