// The visit summary composed from real rows — room events, prescriptions with their
// MedicationRequests, shared documents, the sealed chief complaint and the host's notes — through
// the API behind real authorization and audit, on PGlite and PostgreSQL.
import { eq, gt } from 'drizzle-orm';
import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Principal } from '../src/auth/principal.ts';
import { keyRingOf } from '../src/crypto/db-key-ring.ts';
import { isSealed } from '../src/crypto/key-ring.ts';
import { APPOINTMENT_CHIEF_COMPLAINT } from '../src/crypto/sealed-text.ts';
import type { Database } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { telehealthAppointments } from '../src/telehealth/appointments/schema.ts';
import { telehealthApp } from '../src/telehealth/index.ts';
import { prescriptions } from '../src/telehealth/prescriptions/schema.ts';
import { visitNotes } from '../src/telehealth/summary/schema.ts';
import { videoRoomEvents } from '../src/telehealth/video/schema.ts';
import { sessionOf } from '../src/telehealth/video/session.ts';
import {
  addDays,
  formatLocalDate,
  type LocalDate,
  localTimeOf,
  parseLocalDate,
} from '../src/time/zoned-time.ts';
import { apiUnderTest } from './support/access.ts';
import { insertAppointment, seedTelehealth, type TelehealthPeople } from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const MINUTE = 60_000;
const START = Date.UTC(2026, 5, 3, 9, 0); // 11:00 in Amsterdam
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

const unit = suite('visit session from room events');

unit('runs from the first admission to the first end after it', () => {
  const s = sessionOf([
    { at: 100_000, kind: 'ended' },
    { at: 200_000, kind: 'admitted' },
    { at: 250_000, kind: 'admitted' },
    { at: 300_000, kind: 'left' },
    { at: 900_000, kind: 'ended' },
    { at: 950_000, kind: 'ended' },
  ]);
  assert.equal(s, { startedAt: 200_000, endedAt: 900_000, durationSeconds: 700 });
});

unit('without an end it runs to the last departure', () => {
  const s = sessionOf([
    { at: 0, kind: 'left' },
    { at: 10_000, kind: 'admitted' },
    { at: 70_000, kind: 'left' },
    { at: 130_000, kind: 'left' },
  ]);
  assert.equal(s, { startedAt: 10_000, endedAt: 130_000, durationSeconds: 120 });
});

unit('no admission is no session; an admission not yet over has no duration', () => {
  assert.is(
    sessionOf([
      { at: 0, kind: 'joined' },
      { at: 1, kind: 'left' },
      { at: 2, kind: 'ended' },
    ]),
    undefined,
  );
  assert.equal(sessionOf([{ at: 5_000, kind: 'admitted' }]), {
    startedAt: 5_000,
    endedAt: null,
    durationSeconds: null,
  });
});

unit('the follow-up date counts from the visit day in the clinic time zone', () => {
  const lateEvening = Date.UTC(2026, 5, 3, 22, 30); // already 4 June in Amsterdam
  assert.is(formatLocalDate(localTimeOf(lateEvening, 'Europe/Amsterdam')), '2026-06-04');
  assert.is(formatLocalDate(localTimeOf(lateEvening, 'UTC')), '2026-06-03');
  assert.is(formatLocalDate(addDays(parseLocalDate('2026-06-04') as LocalDate, 30)), '2026-07-04');
});

unit.run();

for (const target of testDatabaseTargets()) {
  const t = suite(`telehealth visit summary (${target.name})`);
  let database: Database;
  let app: Hono;
  let people: TelehealthPeople;
  let appointmentId: string;
  let as: Principal;
  let now = START + 40 * MINUTE;

  const call = async (who: Principal, method: string, path: string, body?: unknown) => {
    as = who;
    const res = await app.request(`http://localhost/api/telehealth${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const summaryOf = (who: Principal, id = appointmentId) =>
    call(who, 'GET', `/appointments/${id}/summary`);
  const lastSeq = async () =>
    (await database.db.select().from(auditLog)).reduce((m, r) => Math.max(m, r.seq), 0);

  t.before(async () => {
    database = await target.open();
    const db = database.db;
    people = await seedTelehealth(db, START - 86_400_000);
    appointmentId = await insertAppointment(db, people, {
      startAt: START,
      status: 'completed',
    });
    await db
      .update(telehealthAppointments)
      .set({
        chiefComplaint: APPOINTMENT_CHIEF_COMPLAINT.seal(
          keyRingOf(db),
          appointmentId,
          'Headaches for two weeks',
        ),
      })
      .where(eq(telehealthAppointments.id, appointmentId));
    const event = (offsetSeconds: number, kind: string, who?: 'host' | 'patient') => ({
      appointmentId,
      at: START + offsetSeconds * 1000,
      kind,
      role: who ?? null,
      userId:
        who === 'host'
          ? people.doctor.principal.id
          : who === 'patient'
            ? people.patient.principal.id
            : null,
    });
    await db
      .insert(videoRoomEvents)
      .values([
        event(-180, 'joined', 'host'),
        event(-60, 'joined', 'patient'),
        event(-60, 'waiting', 'patient'),
        event(75, 'admitted', 'host'),
        event(600, 'left', 'patient'),
        event(640, 'joined', 'patient'),
        event(1605, 'ended', 'host'),
        event(1610, 'left', 'patient'),
      ]);
    const store = new ResourceStore(db);
    await store.update({
      resourceType: 'MedicationRequest',
      id: 'rx-lisinopril',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [{ system: RXNORM, code: '314076', display: 'lisinopril 10 MG Oral Tablet' }],
        text: 'Lisinopril 10 mg tablet',
      },
      subject: { reference: `Patient/${people.patient.patientId}` },
      dosageInstruction: [{ text: 'One tablet every morning' }],
    });
    const prescription = (
      id: string,
      rxnormCode: string,
      signedOffset: number,
      transmission: string,
      appointment: string | null = appointmentId,
    ) => ({
      id,
      appointmentId: appointment,
      patientId: people.patient.patientId,
      prescriberUserId: people.doctor.principal.id,
      rxnormCode,
      signedAt: START + signedOffset * MINUTE,
      alerts: '[]',
      pharmacyId: 'PHARM-1',
      transmission,
      messageId: `msg-${id}`,
      sentAt: transmission === 'sent' ? START + (signedOffset + 1) * MINUTE : null,
    });
    await db
      .insert(prescriptions)
      .values([
        prescription('rx-lisinopril', '314076', 20, 'sent'),
        prescription('rx-unstored', '197361', 22, 'failed'),
        prescription('rx-elsewhere', '617314', 5, 'pending', null),
      ]);

    as = people.patient.principal;
    const under = apiUnderTest(
      db,
      () => as,
      () => now,
    );
    under.app.route('/api/telehealth', telehealthApp(db, { now: () => now }));
    app = under.app;

    as = people.patient.principal;
    const shared = await app.request(
      `http://localhost/api/telehealth/appointments/${appointmentId}/documents?name=rash.png`,
      {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]),
      },
    );
    assert.is(shared.status, 201, await shared.clone().text());
  });

  t.after(async () => {
    await database.close();
  });

  t('before notes: appointment, session, complaint, prescriptions and documents', async () => {
    const { status, body } = await summaryOf(people.patient.principal);
    assert.is(status, 200, JSON.stringify(body));
    assert.equal(body.appointment, {
      id: appointmentId,
      type: 'consultation',
      status: 'completed',
      start: '2026-06-03T09:00:00.000Z',
      end: '2026-06-03T09:30:00.000Z',
      timeZone: 'Europe/Amsterdam',
      clinician: {
        name: 'Dr. Visser',
        practitioner: `Practitioner/${people.doctor.practitionerId}`,
      },
      patient: { id: people.patient.patientId, reference: `Patient/${people.patient.patientId}` },
    });
    assert.equal(body.session, {
      startedAt: '2026-06-03T09:01:15.000Z',
      endedAt: '2026-06-03T09:26:45.000Z',
      durationSeconds: 1530,
    });
    assert.is(body.chiefComplaint, 'Headaches for two weeks');
    assert.equal(body.prescriptions, [
      {
        id: 'rx-lisinopril',
        medication: 'Lisinopril 10 mg tablet',
        rxnorm: '314076',
        dosage: 'One tablet every morning',
        status: 'active',
        transmission: 'sent',
        signedAt: '2026-06-03T09:20:00.000Z',
        sentAt: '2026-06-03T09:21:00.000Z',
      },
      {
        id: 'rx-unstored',
        medication: 'RxNorm 197361',
        rxnorm: '197361',
        dosage: null,
        status: null,
        transmission: 'failed',
        signedAt: '2026-06-03T09:22:00.000Z',
        sentAt: null,
      },
    ]);
    assert.equal(
      body.documents.map((d: Json) => [d.title, d.contentType, d.sizeBytes, d.sharedBy]),
      [['rash.png', 'image/png', 11, 'patient']],
    );
    assert.is(body.nextSteps, null);
    assert.is(body.followUp, null);
  });

  t('the host writes next steps and follow-up, sealed at rest; both sides read them', async () => {
    now = START + 45 * MINUTE;
    const written = await call(
      people.doctor.principal,
      'PUT',
      `/appointments/${appointmentId}/summary/notes`,
      {
        nextSteps: 'Keep a headache diary.\nStart lisinopril; check blood pressure at home.',
        followUp: { inDays: 14, type: 'follow-up' },
      },
    );
    assert.is(written.status, 200, JSON.stringify(written.body));
    assert.equal(written.body.followUp, { type: 'follow-up', inDays: 14, date: '2026-06-17' });

    const [row] = await database.db
      .select()
      .from(visitNotes)
      .where(eq(visitNotes.appointmentId, appointmentId));
    assert.ok(isSealed(row.notes));
    assert.not.match(row.notes, 'diary');
    assert.is(row.writtenBy, people.doctor.principal.id);

    const seen = await summaryOf(people.patient.principal);
    assert.is(
      seen.body.nextSteps,
      'Keep a headache diary.\nStart lisinopril; check blood pressure at home.',
    );
    assert.equal(seen.body.followUp, { type: 'follow-up', inDays: 14, date: '2026-06-17' });
    assert.is(seen.body.notesUpdatedAt, new Date(now).toISOString());
    assert.equal(seen.body, (await summaryOf(people.doctor.principal)).body);

    const dated = await call(
      people.doctor.principal,
      'PUT',
      `/appointments/${appointmentId}/summary/notes`,
      { nextSteps: 'Diary.', followUp: { date: '2026-07-01', type: 'specialist' } },
    );
    assert.equal(dated.body.followUp, { type: 'specialist', inDays: null, date: '2026-07-01' });
    const none = await call(
      people.doctor.principal,
      'PUT',
      `/appointments/${appointmentId}/summary/notes`,
      { nextSteps: 'Keep a headache diary.', followUp: null },
    );
    assert.is(none.body.followUp, null);
  });

  t('bad notes are 400 and change nothing; the patient may not write them', async () => {
    const before = (await summaryOf(people.doctor.principal)).body;
    const path = `/appointments/${appointmentId}/summary/notes`;
    for (const body of [
      {},
      { nextSteps: '   ', followUp: null },
      { nextSteps: 'x', followUp: { inDays: 7, date: '2026-07-01', type: 'follow-up' } },
      { nextSteps: 'x', followUp: { type: 'follow-up' } },
      { nextSteps: 'x', followUp: { inDays: 0, type: 'follow-up' } },
      { nextSteps: 'x', followUp: { date: '2026-02-31x', type: 'follow-up' } },
      { nextSteps: 'x', followUp: { inDays: 7, type: 'house-call' } },
      { nextSteps: 'x', followUp: null, extra: true },
    ]) {
      const res = await call(people.doctor.principal, 'PUT', path, body);
      assert.is(res.status, 400, JSON.stringify(body));
      assert.is(res.body.error.code, 'invalid_body');
    }
    const patient = await call(people.patient.principal, 'PUT', path, {
      nextSteps: 'I feel fine',
      followUp: null,
    });
    assert.is(patient.status, 403);
    assert.equal((await summaryOf(people.doctor.principal)).body, before);
  });

  t('a visit that never started has an empty summary', async () => {
    const other = await insertAppointment(database.db, people, {
      startAt: START + 24 * 60 * MINUTE,
    });
    const { status, body } = await summaryOf(people.doctor.principal, other);
    assert.is(status, 200);
    assert.is(body.session, null);
    assert.is(body.chiefComplaint, null);
    assert.equal(body.prescriptions, []);
    assert.equal(body.documents, []);
    assert.is(body.nextSteps, null);
  });

  t('the printable text names everything', async () => {
    as = people.patient.principal;
    const res = await app.request(
      `http://localhost/api/telehealth/appointments/${appointmentId}/summary?format=text`,
    );
    assert.is(res.status, 200);
    assert.is(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    const text = await res.text();
    for (const part of [
      'Clinician:    Dr. Visser',
      '3 Jun 2026, 11:00–11:30 (Europe/Amsterdam)',
      '11:01–11:26 (25 min 30 s)',
      'Reason:       Headaches for two weeks',
      'Lisinopril 10 mg tablet (RxNorm 314076): One tablet every morning; active, sent to the pharmacy',
      'RxNorm 197361 (RxNorm 197361); status unknown, pharmacy: failed',
      'rash.png (image/png, 11 bytes) by the patient',
      '  Keep a headache diary.',
      'Follow-up:    none needed',
    ])
      assert.match(text, part);
    const bad = await call(
      people.patient.principal,
      'GET',
      `/appointments/${appointmentId}/summary?format=pdf`,
    );
    assert.is(bad.status, 400);
  });

  t('non-participants are refused the summary and the notes, each refusal audited', async () => {
    for (const stranger of [people.otherDoctor, people.otherPatient]) {
      for (const [method, path, body] of [
        ['GET', `/appointments/${appointmentId}/summary`, undefined],
        ['PUT', `/appointments/${appointmentId}/summary/notes`, { nextSteps: 'x', followUp: null }],
      ] as const) {
        const before = await lastSeq();
        const res = await call(stranger.principal, method, path, body);
        assert.is(res.status, 403, `${stranger.username} ${method}`);
        assert.not.match(JSON.stringify(res.body), 'Headaches');
        const trail = await database.db.select().from(auditLog).where(gt(auditLog.seq, before));
        assert.is(trail.length, 1);
        assert.is(trail[0].outcome, 'denied');
        assert.is(trail[0].actorId, stranger.principal.id);
        assert.equal(trail[0].patientIds, [people.patient.patientId]);
      }
    }
    const [notes] = await database.db
      .select()
      .from(visitNotes)
      .where(eq(visitNotes.appointmentId, appointmentId));
    assert.is(notes.writtenBy, people.doctor.principal.id, 'the notes are unchanged');
  });

  t('reading the summary is audited with the patient', async () => {
    const before = await lastSeq();
    await summaryOf(people.doctor.principal);
    const [record] = await database.db.select().from(auditLog).where(gt(auditLog.seq, before));
    assert.is(record.action, 'read');
    assert.is(record.outcome, 'success');
    assert.equal(record.patientIds, [people.patient.patientId]);
    assert.match(JSON.stringify(record.event), `"reference":"Appointment/${appointmentId}"`);
  });

  t.run();
}
