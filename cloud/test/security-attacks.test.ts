import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createUser } from '../src/auth/index.ts';
import { base32Decode, totpCode } from '../src/auth/totp.ts';
import { auditLog, bedAssignments, careAssignments } from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import type { MqttSide } from '../src/ingest/service.ts';
import { type Cloud, cloudApp, startCloud } from '../src/server.ts';
import type { Json } from './support/fhir-harness.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// Attacks on the running cloud through its real sign-in: every route refuses the anonymous, a
// signed-in doctor cannot reach another doctor's patient by id through any API (IDOR), and a
// session that timed out or was logged out cannot be replayed.

const PASSWORD = 'Copper-Meadow-4471';
const WARD = 'ward-sec';
/**
 * Routes anyone may call: health, the CapabilityStatement, sign-in, the token endpoint,
 * enrollment, and the video visit page (HTML, script, style: no PHI; it signs in through the API).
 */
const PUBLIC = new Set([
  'GET /health',
  'GET /fhir/R4/metadata',
  'POST /api/auth/login',
  'POST /api/auth/token',
  'POST /api/enroll',
  'GET /telehealth/visit/:appointmentId',
  'GET /telehealth/visit.js',
  'GET /telehealth/visit.css',
]);

let clock = Date.UTC(2026, 5, 1, 9);

async function post(cloud: Cloud, path: string, body: unknown, token?: string): Promise<Json> {
  const res = await fetch(`${cloud.httpUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** First sign-in of a staff user: password, then TOTP enrolment; the session and the secret. */
async function enrol(cloud: Cloud, username: string): Promise<{ token: string; secret: Buffer }> {
  const ok = async (path: string, body: unknown, token?: string) => {
    const res = await post(cloud, path, body, token);
    assert.is(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const { token } = await ok('/api/auth/login', { username, password: PASSWORD });
  const secret = base32Decode((await ok('/api/auth/mfa/enrol', {}, token)).secret);
  await ok('/api/auth/mfa/activate', { code: totpCode(secret, clock) }, token);
  return { token, secret };
}

for (const target of testDatabaseTargets()) {
  test(`${target.name}: anonymous, IDOR and replayed sessions are refused through the real sign-in`, async () => {
    const cloud = await startCloud({
      database: await target.open(),
      httpPort: 0,
      mqttPort: 0,
      app: { auth: { now: () => clock } },
    });
    try {
      const db = cloud.database.db;
      const store = new ResourceStore(db);
      for (const id of ['sec-mine', 'sec-theirs'])
        await store.update({ resourceType: 'Patient', id, name: [{ family: id }] });
      const theirObservation = await store.create({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'heart rate' },
        subject: { reference: 'Patient/sec-theirs' },
      });
      const doctor = await createUser(
        db,
        { username: 'dr.sec', role: 'doctor', password: PASSWORD, trainingCompletedAt: clock },
        clock,
      );
      await db
        .insert(careAssignments)
        .values({ userId: doctor.id, patientId: 'sec-mine', fromTime: 0 });
      await db.insert(bedAssignments).values({
        gatewayId: WARD,
        bedId: 'bed-1',
        patientId: 'sec-theirs',
        displayName: 'S. T',
        fromTime: 0,
      });

      // 1. Every route of the app, called without a token, is 401 (or public).
      const app = cloudApp(cloud.database, cloud as unknown as MqttSide);
      const routes = app.routes.filter((r) => r.method !== 'ALL' && !r.path.includes('*'));
      assert.ok(routes.length > 40, `${routes.length} routes`);
      for (const route of routes) {
        const path = route.path.replace(/:[A-Za-z]+/g, 'x');
        if (PUBLIC.has(`${route.method} ${route.path}`)) continue;
        const res = await fetch(`${cloud.httpUrl}${path}`, {
          method: route.method,
          headers: { 'content-type': 'application/json' },
          body: route.method === 'GET' || route.method === 'HEAD' ? undefined : '{}',
        });
        await res.arrayBuffer();
        assert.is(res.status, 401, `${route.method} ${route.path} without a token`);
      }

      // 2. A doctor signed in (password + TOTP) reaches their patient, not another one by id.
      const { token, secret } = await enrol(cloud, 'dr.sec');
      const get = async (path: string) => {
        const res = await fetch(`${cloud.httpUrl}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return { status: res.status, body: (await res.json()) as Json };
      };
      assert.is((await get('/fhir/R4/Patient/sec-mine')).status, 200);
      const attempts = [
        '/fhir/R4/Patient/sec-theirs',
        `/fhir/R4/Observation/${theirObservation.id}`,
        `/fhir/R4/Observation/${theirObservation.id}/_history/1`,
        '/fhir/R4/Patient/sec-theirs/$everything',
        '/api/patients/sec-theirs/summary',
        '/api/trends?patient=sec-theirs&parameter=MDC_PULS_RATE&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z',
        `/api/beds/${WARD}/bed-1/alarm-settings`,
      ];
      for (const path of attempts) assert.is((await get(path)).status, 403, path);
      for (const path of [
        '/fhir/R4/Observation?subject=Patient/sec-theirs',
        '/fhir/R4/Patient?_id=sec-theirs',
      ])
        assert.is((await get(path)).body.total, 0, path);
      assert.equal((await get('/api/alarms?patient=sec-theirs')).body.total, 0);
      assert.equal((await get('/api/alerts?patient=sec-theirs')).body.alerts, []);
      const denials = (await db.select().from(auditLog)).filter(
        (r) => r.actorId === doctor.id && r.outcome === 'denied',
      );
      assert.ok(denials.length >= attempts.length, `${denials.length} denials audited`);

      // 3. The session ends after 15 idle minutes; the token then opens nothing, even once.
      clock += 16 * 60_000;
      const idle = await get('/fhir/R4/Patient/sec-mine');
      assert.is(idle.status, 401);
      assert.is(idle.body.resourceType, 'OperationOutcome');
      assert.is((await get('/api/alarms')).status, 401);

      // 4. Signed in again (password, then the current TOTP code): logout kills the token at once.
      const login = await post(cloud, '/api/auth/login', {
        username: 'dr.sec',
        password: PASSWORD,
      });
      assert.is(login.status, 200);
      const pending = login.body.token as string;
      const early = await fetch(`${cloud.httpUrl}/fhir/R4/Patient/sec-mine`, {
        headers: { authorization: `Bearer ${pending}` },
      });
      assert.is(early.status, 401, 'a session waiting for its second factor opens nothing');
      const mfa = await post(cloud, '/api/auth/mfa', { code: totpCode(secret, clock) }, pending);
      assert.is(mfa.status, 200, JSON.stringify(mfa.body));
      const live = await fetch(`${cloud.httpUrl}/fhir/R4/Patient/sec-mine`, {
        headers: { authorization: `Bearer ${pending}` },
      });
      assert.is(live.status, 200);
      assert.is((await post(cloud, '/api/auth/logout', {}, pending)).status < 300, true);
      const replay = await fetch(`${cloud.httpUrl}/fhir/R4/Patient/sec-mine`, {
        headers: { authorization: `Bearer ${pending}` },
      });
      assert.is(replay.status, 401, 'a logged-out token is refused');
    } finally {
      await cloud.stop();
    }
  });
}

test.run();
