// "A non-participant refused everywhere": every telehealth route about one visit, and the FHIR
// reads of what the visit produced, refuse a doctor and a patient who take no part in it and an
// API client allowed everything else; each refusal is in the audit trail naming the patient. The
// participants' own calls succeed, so a refusal here is about who asks, not a broken route.
import { and, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Principal } from '../src/auth/principal.ts';
import type { Database } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { documentBinaries } from '../src/telehealth/documents/fhir-binary.ts';
import { telehealthApp } from '../src/telehealth/index.ts';
import { apiUnderTest, fhirAppAs } from './support/access.ts';
import { FULL_ACCESS, type Json } from './support/fhir-harness.ts';
import { insertAppointment, seedTelehealth, type TelehealthPeople } from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const MINUTE = 60_000;

for (const target of testDatabaseTargets()) {
  const t = suite(`telehealth: non-participants refused everywhere (${target.name})`);
  let database: Database;
  let people: TelehealthPeople;
  let app: Hono;
  let who: Principal;
  const ids = { appointment: '', document: '', prescription: '' };

  const call = async (as: Principal, method: string, path: string, body?: unknown) => {
    who = as;
    const isText = typeof body === 'string';
    const res = await app.request(path, {
      method,
      headers: { 'content-type': isText ? 'text/plain' : 'application/json' },
      body: body === undefined ? undefined : isText ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: Json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  };

  const medication = {
    rxnorm: '29046',
    strength: '10 mg tablet',
    sig: 'one tablet by mouth once daily',
    quantity: { value: 30, unit: 'tablet' },
    daysSupply: 30,
    refills: 0,
  };

  /** Every route about the visit, its document and its prescription, as [method, path, body]. */
  const visitRoutes = (): [string, string, unknown?][] => {
    const a = `/api/telehealth/appointments/${ids.appointment}`;
    return [
      ['GET', a],
      ['POST', `${a}/cancel`, { reason: 'not mine to cancel' }],
      ['POST', `${a}/reschedule`, { start: new Date(Date.now() + 3 * 86_400_000).toISOString() }],
      ['POST', `${a}/video/token`],
      ['GET', `${a}/video/chat`],
      ['GET', `${a}/video/events`],
      ['POST', `${a}/documents?name=note.txt`, 'a note from a stranger'],
      ['GET', `${a}/documents`],
      ['GET', `/api/telehealth/documents/${ids.document}`],
      ['GET', `/api/telehealth/documents/${ids.document}/content`],
      ['POST', `${a}/prescriptions/check`, { medications: [medication] }],
      ['POST', `${a}/prescriptions`, { medications: [medication], pharmacyNcpdpId: '1234567' }],
      ['GET', `${a}/prescriptions`],
      ['GET', `/api/telehealth/prescriptions/${ids.prescription}`],
      ['GET', `${a}/summary`],
      ['PUT', `${a}/summary/notes`, { nextSteps: 'none', followUp: null }],
    ];
  };

  t.before(async () => {
    database = await target.open();
    const now = Date.now();
    people = await seedTelehealth(database.db, now);
    ids.appointment = await insertAppointment(database.db, people, { startAt: now + 5 * MINUTE });
    const api = apiUnderTest(database.db, () => who);
    app = api.app;
    app.route('/api/telehealth', telehealthApp(database.db));
    app.route(
      '/fhir/R4',
      fhirAppAs(database.db, () => who, { binaries: documentBinaries(database.db) }),
    );

    const shared = await call(
      people.patient.principal,
      'POST',
      `/api/telehealth/appointments/${ids.appointment}/documents?name=diary.txt`,
      'blood pressure diary: 142/90, 138/88',
    );
    assert.is(shared.status, 201, JSON.stringify(shared.body));
    ids.document = shared.body.id;
    const signed = await call(
      people.doctor.principal,
      'POST',
      `/api/telehealth/appointments/${ids.appointment}/prescriptions`,
      { medications: [medication], pharmacyNcpdpId: '1234567' },
    );
    assert.is(signed.status, 201, JSON.stringify(signed.body));
    ids.prescription = signed.body.prescriptions[0].id;
  });

  t.after(async () => {
    await database.close();
  });

  const strangers = () =>
    [
      ['another doctor', people.otherDoctor.principal],
      ['another patient', people.otherPatient.principal],
      ['an API client allowed everything', FULL_ACCESS],
    ] as const;

  t('every visit route refuses a non-participant, and audits the refusal', async () => {
    for (const [name, stranger] of strangers()) {
      for (const [method, path, body] of visitRoutes()) {
        const before = await deniedCount(stranger.id);
        const res = await call(stranger, method, path, body);
        assert.is(res.status, 403, `${name}: ${method} ${path} answered ${res.status}`);
        assert.is(res.body.error.code, 'forbidden', `${name}: ${method} ${path}`);
        const denied = await deniedEntries(stranger.id);
        assert.is(denied.length, before + 1, `${name}: ${method} ${path} refusal audited once`);
        assert.equal(denied.at(-1)?.patientIds, [people.patient.patientId], `${method} ${path}`);
      }
    }
  });

  t('the FHIR records of the visit are refused to those strangers too', async () => {
    const paths = [
      `/fhir/R4/Appointment/${ids.appointment}`,
      `/fhir/R4/DocumentReference/${ids.document}`,
      `/fhir/R4/Binary/${ids.document}`,
      `/fhir/R4/MedicationRequest/${ids.prescription}`,
    ];
    for (const [name, stranger] of strangers().slice(0, 2))
      for (const path of paths) {
        const res = await call(stranger, 'GET', path);
        assert.is(res.status, 403, `${name}: GET ${path} answered ${res.status}`);
        assert.is(res.body.resourceType, 'OperationOutcome');
      }
  });

  t('the participants reach the same routes', async () => {
    const a = `/api/telehealth/appointments/${ids.appointment}`;
    for (const [as, method, path] of [
      [people.patient.principal, 'GET', a],
      [people.patient.principal, 'GET', `${a}/documents`],
      [people.patient.principal, 'GET', `/api/telehealth/documents/${ids.document}/content`],
      [people.patient.principal, 'GET', `${a}/prescriptions`],
      [people.patient.principal, 'GET', `/api/telehealth/prescriptions/${ids.prescription}`],
      [people.patient.principal, 'GET', `${a}/summary`],
      [people.patient.principal, 'GET', `${a}/video/chat`],
      [people.patient.principal, 'POST', `${a}/video/token`],
      [people.doctor.principal, 'GET', `${a}/video/events`],
      [people.doctor.principal, 'PUT', `${a}/summary/notes`],
      [people.patient.principal, 'GET', `/fhir/R4/Binary/${ids.document}`],
      [people.doctor.principal, 'GET', `/fhir/R4/MedicationRequest/${ids.prescription}`],
    ] as const) {
      const body = path.endsWith('/notes')
        ? {
            nextSteps: 'Home blood pressure log for two weeks',
            followUp: { inDays: 14, type: 'follow-up' },
          }
        : undefined;
      const res = await call(as, method, path, body);
      assert.ok(
        res.status < 300,
        `${as.id} ${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`,
      );
    }
  });

  const deniedEntries = async (actorId: string) =>
    (
      await database.db
        .select({ patientIds: auditLog.patientIds })
        .from(auditLog)
        .where(and(eq(auditLog.actorId, actorId), eq(auditLog.outcome, 'denied')))
        .orderBy(auditLog.seq)
    ).map((r) => ({ patientIds: r.patientIds }));
  const deniedCount = async (actorId: string) => (await deniedEntries(actorId)).length;

  t.run();
}
