import { and, eq, ne } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createUser } from '../src/auth/users.ts';
import type { Db } from '../src/db/database.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { type Cloud, startCloud } from '../src/server.ts';
import { telehealthAppointments } from '../src/telehealth/appointments/schema.ts';
import { seedTelehealth, TELEHEALTH_PASSWORD } from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

/** Simultaneous booking requests for one slot. */
const CONTENDERS = 20;

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field.
type Json = any;

async function call(
  cloud: Cloud,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${cloud.httpUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A patient with a Patient record and a user account, signed in through the real login. */
async function signedInPatient(cloud: Cloud, db: Db, n: number): Promise<string> {
  const patient = await new ResourceStore(db).create({
    resourceType: 'Patient',
    name: [{ family: `Contender${n}` }],
  });
  const username = `th.contender.${n}`;
  await createUser(
    db,
    { username, role: 'patient', password: TELEHEALTH_PASSWORD, patientId: patient.id },
    Date.now(),
  );
  const login = await call(cloud, 'POST', '/api/auth/login', undefined, {
    username,
    password: TELEHEALTH_PASSWORD,
  });
  assert.is(login.status, 200, JSON.stringify(login.body));
  assert.is(login.body.mfaRequired, false);
  return login.body.token;
}

const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

for (const target of testDatabaseTargets()) {
  test(`${target.name}: ${CONTENDERS} simultaneous bookings of one slot over HTTP: one booked, the rest 409`, async () => {
    const cloud = await startCloud({ database: await target.open(), httpPort: 0, mqttPort: 0 });
    try {
      const db = cloud.database.db;
      const people = await seedTelehealth(db, Date.now());
      const tokens: string[] = [];
      for (let n = 0; n < CONTENDERS; n++) tokens.push(await signedInPatient(cloud, db, n));
      const providerId = people.doctor.principal.id;
      const from = Date.now() + 24 * 3_600_000;
      const slots = await call(
        cloud,
        'GET',
        `/api/telehealth/providers/${providerId}/slots?from=${date(from)}&to=${date(from + 8 * 86_400_000)}&status=free`,
        tokens[0],
      );
      assert.is(slots.status, 200, JSON.stringify(slots.body));
      const [first, second, third] = slots.body.entry.map(
        (e: { resource: { start: string } }) => e.resource.start,
      );

      const started = performance.now();
      const answers = await Promise.all(
        tokens.map((token) =>
          call(cloud, 'POST', '/api/telehealth/appointments', token, {
            providerId,
            start: first,
            type: 'urgent-care',
          }),
        ),
      );
      const elapsed = performance.now() - started;
      const statuses = answers.map((a) => a.status).sort();
      assert.equal(statuses, [201, ...Array(CONTENDERS - 1).fill(409)], JSON.stringify(statuses));
      for (const refused of answers.filter((a) => a.status === 409))
        assert.is(refused.body.error.code, 'slot_taken');
      const rows = await db
        .select()
        .from(telehealthAppointments)
        .where(
          and(
            eq(telehealthAppointments.providerUserId, providerId),
            ne(telehealthAppointments.status, 'cancelled'),
          ),
        );
      assert.is(rows.length, 1, 'one ledger row');
      assert.is(rows[0].startAt, Date.parse(first));
      console.log(
        `  ${target.name}: ${CONTENDERS} concurrent bookings answered in ${elapsed.toFixed(0)} ms`,
      );

      // Two appointments rescheduled onto the same free slot at once: one moves, one is refused.
      const winner = answers.find((a) => a.status === 201)?.body.appointment.id as string;
      const winnerToken = tokens[answers.findIndex((a) => a.status === 201)];
      const otherToken = tokens.find((t) => t !== winnerToken) as string;
      const other = await call(cloud, 'POST', '/api/telehealth/appointments', otherToken, {
        providerId,
        start: second,
        type: 'consultation',
      });
      assert.is(other.status, 201);
      const moves = await Promise.all([
        call(cloud, 'POST', `/api/telehealth/appointments/${winner}/reschedule`, winnerToken, {
          start: third,
        }),
        call(
          cloud,
          'POST',
          `/api/telehealth/appointments/${other.body.appointment.id}/reschedule`,
          otherToken,
          { start: third },
        ),
      ]);
      assert.equal(moves.map((m) => m.status).sort(), [201, 409]);
      const held = await db
        .select()
        .from(telehealthAppointments)
        .where(
          and(
            eq(telehealthAppointments.providerUserId, providerId),
            ne(telehealthAppointments.status, 'cancelled'),
          ),
        );
      assert.equal(
        held.map((r) => r.startAt).sort(),
        [Date.parse(first), Date.parse(second), Date.parse(third)].filter(
          (_, i) => i === 2 || i === (moves[0].status === 201 ? 1 : 0),
        ),
        'the refused one stays where it was',
      );
    } finally {
      await cloud.stop();
    }
  });
}

test.run();
