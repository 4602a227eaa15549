import { and, eq } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { currentAssignments } from '../src/auth/care-assignments.ts';
import type { Principal } from '../src/auth/principal.ts';
import { createUser } from '../src/auth/users.ts';
import type { Database } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { startAppointmentJobs } from '../src/telehealth/appointments/index.ts';
import {
  appointmentReminders,
  telehealthAppointments,
} from '../src/telehealth/appointments/schema.ts';
import { videoRoomEvents } from '../src/telehealth/video/schema.ts';
import {
  insertAppointment,
  seedTelehealth,
  type TelehealthPeople,
  telehealthApiAs,
} from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Wednesday 2026-03-25, 10:00 UTC: the Sunday after is the switch to summer time in Europe. */
const NOW = Date.UTC(2026, 2, 25, 10);
/** Monday 2026-03-30 09:00 in Amsterdam (CEST, UTC+2). */
const MONDAY_9 = Date.UTC(2026, 2, 30, 7);
const iso = (ms: number) => new Date(ms).toISOString();

for (const target of testDatabaseTargets()) {
  const t = (name: string, run: (s: Setup) => Promise<void>) =>
    test(`${target.name}: ${name}`, async () => {
      const database = await target.open();
      try {
        await run(await setup(database));
      } finally {
        await database.close();
      }
    });

  t(
    'availability follows the working hours in the provider zone across a DST change',
    async ({ api, people, as }) => {
      as(people.patient.principal);
      const slots = await api.call(
        'GET',
        `/providers/${people.doctor.principal.id}/slots?from=2026-03-27&to=2026-03-30`,
      );
      assert.is(slots.status, 200, JSON.stringify(slots.body));
      assert.is(slots.body.resourceType, 'Bundle');
      const starts = slots.body.entry.map((e: { resource: { start: string } }) => e.resource.start);
      // Friday (CET, +1) and Monday (CEST, +2): 16 half-hour slots each; nothing on the weekend.
      assert.is(starts.length, 32);
      assert.is(starts[0], '2026-03-27T08:00:00.000Z');
      assert.is(starts[15], '2026-03-27T15:30:00.000Z');
      assert.is(starts[16], '2026-03-30T07:00:00.000Z');
      assert.is(starts[31], '2026-03-30T14:30:00.000Z');
      const first = slots.body.entry[0].resource;
      assert.is(first.resourceType, 'Slot');
      assert.is(first.status, 'free');
      assert.match(first.schedule.reference, /^Schedule\//);

      // A provider with night hours on the Sunday of the change: 02:00-03:00 does not exist.
      as(people.admin);
      const night = await api.call('PUT', `/providers/${people.otherDoctor.principal.id}`, {
        timeZone: 'Europe/Amsterdam',
        workingHours: { sun: [['01:00', '04:00']] },
        slotMinutes: 30,
      });
      assert.is(night.status, 200, JSON.stringify(night.body));
      as(people.patient.principal);
      const sunday = await api.call(
        'GET',
        `/providers/${people.otherDoctor.practitionerId}/slots?from=2026-03-29&to=2026-03-29`,
      );
      assert.equal(
        sunday.body.entry.map((e: { resource: { start: string } }) => e.resource.start),
        [
          '2026-03-29T00:00:00.000Z',
          '2026-03-29T00:30:00.000Z',
          '2026-03-29T01:00:00.000Z',
          '2026-03-29T01:30:00.000Z',
        ],
        '01:00, 01:30 CET and 03:00, 03:30 CEST',
      );

      // New York changed three weeks earlier: 09:00 there is 13:00Z in March 2026.
      as(people.admin);
      await api.call('PUT', `/providers/${people.otherDoctor.principal.id}`, {
        timeZone: 'America/New_York',
        workingHours: { fri: [['09:00', '10:00']] },
        slotMinutes: 20,
      });
      as(people.patient.principal);
      const ny = await api.call(
        'GET',
        `/providers/${people.otherDoctor.principal.id}/slots?from=2026-03-27&to=2026-03-27`,
      );
      assert.equal(
        ny.body.entry.map((e: { resource: { start: string; end: string } }) => [
          e.resource.start,
          e.resource.end,
        ]),
        [
          ['2026-03-27T13:00:00.000Z', '2026-03-27T13:20:00.000Z'],
          ['2026-03-27T13:20:00.000Z', '2026-03-27T13:40:00.000Z'],
          ['2026-03-27T13:40:00.000Z', '2026-03-27T14:00:00.000Z'],
        ],
      );

      const bad = await api.call(
        'GET',
        `/providers/${people.doctor.principal.id}/slots?from=27-03`,
      );
      assert.is(bad.status, 400);
      assert.is(bad.body.error.code, 'invalid_query');
      const unknown = await api.call('GET', '/providers/nobody/slots?from=2026-03-27');
      assert.is(unknown.status, 404);
    },
  );

  t(
    'providers: registered by an administrator or the doctor themself, validated, audited',
    async ({ api, people, as, db }) => {
      const hours = {
        timeZone: 'Europe/Amsterdam',
        workingHours: { mon: [['08:00', '12:00']] },
        slotMinutes: 15,
      };
      const newDoctor = await createUser(
        db,
        { username: 'th.dr.new', role: 'doctor', password: 'Harbour-Tulip-8812' },
        NOW,
      );
      as(people.patient.principal);
      assert.is((await api.call('PUT', `/providers/${newDoctor.id}`, hours)).status, 403);
      as(people.otherDoctor.principal);
      assert.is((await api.call('PUT', `/providers/${newDoctor.id}`, hours)).status, 403);
      as(people.admin);
      const noName = await api.call('PUT', `/providers/${newDoctor.id}`, hours);
      assert.is(noName.status, 400, 'a new Practitioner needs a name');
      const created = await api.call('PUT', `/providers/${newDoctor.id}`, {
        ...hours,
        name: { family: 'Dekker', prefix: ['Dr.'] },
      });
      assert.is(created.status, 201, JSON.stringify(created.body));
      const store = new ResourceStore(db);
      const schedule = await store.read('Schedule', created.body.provider.scheduleId);
      assert.equal(schedule?.resource?.actor, [
        { reference: `Practitioner/${created.body.provider.practitionerId}` },
      ]);
      for (const wrong of [
        { ...hours, timeZone: 'Mars/Olympus' },
        { ...hours, workingHours: { mon: [['12:00', '08:00']] } },
        {
          ...hours,
          workingHours: {
            mon: [
              ['08:00', '12:00'],
              ['11:00', '13:00'],
            ],
          },
        },
        { ...hours, workingHours: { someday: [['08:00', '12:00']] } },
        { ...hours, slotMinutes: 0 },
      ]) {
        const res = await api.call('PUT', `/providers/${newDoctor.id}`, wrong);
        assert.is(res.status, 400, JSON.stringify(wrong));
        assert.is(res.body.error.code, 'invalid_body');
      }
      as({ ...people.doctor.principal, id: newDoctor.id, username: 'th.dr.new' });
      const own = await api.call('PUT', `/providers/${newDoctor.id}`, {
        ...hours,
        slotMinutes: 20,
      });
      assert.is(own.status, 200);
      assert.is(own.body.provider.slotMinutes, 20);
      const records = await db.select().from(auditLog).where(eq(auditLog.action, 'admin'));
      assert.ok(
        records.some((r) => JSON.stringify(r.event).includes('telehealth working hours changed')),
      );
      const list = await api.call('GET', '/providers');
      assert.is(list.body.providers.length, 3);
    },
  );

  t(
    'a patient books a slot: ledger, FHIR Appointment and busy Slot, care, sealed complaint',
    async ({ api, people, as, db }) => {
      as(people.patient.principal);
      const booked = await api.call('POST', '/appointments', {
        providerId: people.doctor.principal.id,
        start: iso(MONDAY_9),
        type: 'mental-health',
        chiefComplaint: 'Trouble sleeping since March',
      });
      assert.is(booked.status, 201, JSON.stringify(booked.body));
      const a = booked.body.appointment;
      assert.is(a.status, 'scheduled');
      assert.is(a.start, iso(MONDAY_9));
      assert.is(a.end, iso(MONDAY_9 + 30 * MINUTE));
      assert.is(a.chiefComplaint, 'Trouble sleeping since March');
      const [row] = await db
        .select()
        .from(telehealthAppointments)
        .where(eq(telehealthAppointments.id, a.id));
      assert.ok(row.chiefComplaint && !row.chiefComplaint.includes('sleeping'), 'sealed at rest');

      const store = new ResourceStore(db);
      const fhir = (await store.read('Appointment', a.id))?.resource as Record<string, unknown>;
      assert.is(fhir.status, 'booked');
      assert.is(
        (fhir.appointmentType as { coding: { code: string }[] }).coding[0].code,
        'mental-health',
      );
      const slotRef = (fhir.slot as { reference: string }[])[0].reference;
      const slot = (await store.read('Slot', slotRef.split('/')[1]))?.resource;
      assert.is(slot?.status, 'busy');
      const availability = await api.call(
        'GET',
        `/providers/${people.doctor.principal.id}/slots?from=2026-03-30&to=2026-03-30`,
      );
      const same = availability.body.entry.find(
        (e: { resource: { start: string } }) => e.resource.start === iso(MONDAY_9),
      );
      assert.is(same.resource.status, 'busy');
      assert.is(same.resource.id, slot?.id, 'the computed and stored Slot are one');
      const free = await api.call(
        'GET',
        `/providers/${people.doctor.principal.id}/slots?from=2026-03-30&to=2026-03-30&status=free`,
      );
      assert.is(free.body.total, 15);

      const care = await currentAssignments(db, people.doctor.principal.id, NOW);
      assert.ok(
        care.some((c) => c.patientId === people.patient.patientId),
        'in the doctor’s care',
      );
      const reminders = await db
        .select()
        .from(appointmentReminders)
        .where(eq(appointmentReminders.appointmentId, a.id));
      assert.is(reminders.length, 4, 'e-mail and SMS, 24 h and 1 h before');

      const mine = await api.call('GET', '/appointments');
      assert.equal(
        mine.body.appointments.map((x: { id: string }) => x.id),
        [a.id],
      );
      as(people.doctor.principal);
      const hosted = await api.call('GET', `/appointments/${a.id}`);
      assert.is(hosted.status, 200);
      assert.is(hosted.body.role, 'host');
      assert.is(hosted.body.resource.resourceType, 'Appointment');
    },
  );

  t(
    'booking refuses taken, off-grid, past and closed times with clear errors',
    async ({ api, people, as }) => {
      as(people.patient.principal);
      const book = (start: number, extra: Record<string, unknown> = {}) =>
        api.call('POST', '/appointments', {
          practitionerId: people.doctor.practitionerId,
          start: iso(start),
          type: 'consultation',
          ...extra,
        });
      assert.is((await book(MONDAY_9)).status, 201);
      as(people.otherPatient.principal);
      const taken = await book(MONDAY_9);
      assert.is(taken.status, 409);
      assert.is(taken.body.error.code, 'slot_taken');
      assert.match(taken.body.error.message, /already booked/);
      const offGrid = await book(MONDAY_9 + 10 * MINUTE);
      assert.is(offGrid.status, 400);
      assert.is(offGrid.body.error.code, 'not_a_slot');
      const sunday = await book(Date.UTC(2026, 2, 29, 9));
      assert.is(sunday.body.error.code, 'not_a_slot');
      const past = await book(Date.UTC(2026, 2, 24, 9));
      assert.is(past.body.error.code, 'in_the_past');
      const badType = await book(MONDAY_9 + HOUR, { type: 'spa' });
      assert.is(badType.status, 400);
      assert.is(badType.body.error.code, 'invalid_body');
      const noZone = await api.call('POST', '/appointments', {
        providerId: people.doctor.principal.id,
        start: '2026-03-30T09:00:00',
        type: 'consultation',
      });
      assert.is(noZone.status, 400);
      const forSomeoneElse = await book(MONDAY_9 + HOUR, { patientId: people.patient.patientId });
      assert.is(forSomeoneElse.status, 403);

      // A doctor books for a patient in their care, on their own schedule only.
      as(people.doctor.principal);
      const forPatient = await book(MONDAY_9 + HOUR, {
        patientId: people.patient.patientId,
        type: 'follow-up',
      });
      assert.is(forPatient.status, 201, JSON.stringify(forPatient.body));
      const notInCare = await book(MONDAY_9 + 2 * HOUR, {
        patientId: people.otherPatient.patientId,
      });
      assert.is(notInCare.status, 403);
      as(people.otherDoctor.principal);
      const othersSchedule = await book(MONDAY_9 + 2 * HOUR, {
        patientId: people.patient.patientId,
      });
      assert.is(othersSchedule.status, 403);
    },
  );

  t(
    'cancel frees the slot and drops reminders; reschedule moves atomically',
    async ({ api, people, as, db }) => {
      as(people.patient.principal);
      const first = await api.call('POST', '/appointments', {
        providerId: people.doctor.principal.id,
        start: iso(MONDAY_9),
        type: 'consultation',
        chiefComplaint: 'Rash on the arm',
      });
      const id = first.body.appointment.id;
      as(people.otherPatient.principal);
      const other = await api.call('POST', '/appointments', {
        providerId: people.doctor.principal.id,
        start: iso(MONDAY_9 + HOUR),
        type: 'consultation',
      });
      assert.is(other.status, 201);

      as(people.patient.principal);
      const onTaken = await api.call('POST', `/appointments/${id}/reschedule`, {
        start: iso(MONDAY_9 + HOUR),
      });
      assert.is(onTaken.status, 409);
      const unchanged = await api.call('GET', `/appointments/${id}`);
      assert.is(unchanged.body.appointment.status, 'scheduled', 'a refused move changes nothing');

      const moved = await api.call('POST', `/appointments/${id}/reschedule`, {
        start: iso(MONDAY_9 + 30 * MINUTE),
      });
      assert.is(moved.status, 201, JSON.stringify(moved.body));
      const next = moved.body.appointment;
      assert.is(next.rescheduledFrom, id);
      assert.is(next.start, iso(MONDAY_9 + 30 * MINUTE));
      assert.is(next.chiefComplaint, 'Rash on the arm');
      assert.is(moved.body.cancelled.status, 'cancelled');
      const store = new ResourceStore(db);
      const oldFhir = (await store.read('Appointment', id))?.resource as Record<string, unknown>;
      assert.is(oldFhir.status, 'cancelled');
      const newFhir = (await store.read('Appointment', next.id))?.resource as Record<
        string,
        unknown
      >;
      assert.equal(newFhir.extension, [
        {
          url: 'urn:wardgate:fhir:appointment-replaces',
          valueReference: { reference: `Appointment/${id}` },
        },
      ]);
      const day = await api.call(
        'GET',
        `/providers/${people.doctor.principal.id}/slots?from=2026-03-30&to=2026-03-30`,
      );
      const statusAt = (ms: number) =>
        day.body.entry.find((e: { resource: { start: string } }) => e.resource.start === iso(ms))
          .resource.status;
      assert.is(statusAt(MONDAY_9), 'free');
      assert.is(statusAt(MONDAY_9 + 30 * MINUTE), 'busy');
      const oldReminders = await db
        .select()
        .from(appointmentReminders)
        .where(eq(appointmentReminders.appointmentId, id));
      assert.ok(oldReminders.every((r) => r.status === 'skipped'));

      as(people.doctor.principal);
      assert.is((await api.call('POST', `/appointments/${next.id}/cancel`, {})).status, 400);
      const cancelled = await api.call('POST', `/appointments/${next.id}/cancel`, {
        reason: 'Doctor unavailable',
      });
      assert.is(cancelled.status, 200);
      assert.is(cancelled.body.appointment.status, 'cancelled');
      const fhir = (await store.read('Appointment', next.id))?.resource as Record<string, unknown>;
      assert.equal(fhir.cancelationReason, { text: 'Doctor unavailable' });
      const again = await api.call('POST', `/appointments/${next.id}/cancel`, { reason: 'twice' });
      assert.is(again.status, 409);
      assert.is(again.body.error.code, 'not_scheduled');
      const pending = await db
        .select()
        .from(appointmentReminders)
        .where(
          and(
            eq(appointmentReminders.appointmentId, next.id),
            eq(appointmentReminders.status, 'pending'),
          ),
        );
      assert.is(pending.length, 0);
      as(people.patient.principal);
      const rebook = await api.call('POST', '/appointments', {
        providerId: people.doctor.principal.id,
        start: iso(MONDAY_9 + 30 * MINUTE),
        type: 'consultation',
      });
      assert.is(rebook.status, 201, 'a cancelled slot can be booked again');
    },
  );

  t(
    'non-participants are refused on every appointment route, and audited as denied',
    async ({ api, people, as, db }) => {
      const id = await insertAppointment(db, people, { startAt: MONDAY_9 }, NOW);
      const routes: [string, string, unknown?][] = [
        ['GET', `/appointments/${id}`],
        ['POST', `/appointments/${id}/cancel`, { reason: 'not mine' }],
        ['POST', `/appointments/${id}/reschedule`, { start: iso(MONDAY_9 + HOUR) }],
      ];
      for (const stranger of [people.otherDoctor, people.otherPatient]) {
        as(stranger.principal);
        for (const [method, path, body] of routes) {
          const before = (await db.select().from(auditLog)).length;
          const res = await api.call(method, path, body);
          assert.is(res.status, 403, `${stranger.username} ${method} ${path}`);
          const added = (await db.select().from(auditLog)).slice(before);
          const denial = added.find((r) => r.outcome === 'denied');
          assert.ok(denial, `${method} ${path} audited`);
          assert.is(denial.action, 'denied');
          assert.is(denial.actorId, stranger.principal.id);
          assert.equal(denial.patientIds, [people.patient.patientId]);
        }
        const list = await api.call('GET', '/appointments');
        assert.equal(list.body.appointments, [], 'their own list does not show it');
      }
      const unknown = await api.call('GET', '/appointments/no-such-id');
      assert.is(unknown.status, 403, 'a stranger learns nothing from an unknown id');
      as(people.admin);
      assert.is((await api.call('GET', `/appointments/${id}`)).status, 403);
      assert.is((await api.call('GET', '/appointments')).status, 403);
      const [still] = await db
        .select()
        .from(telehealthAppointments)
        .where(eq(telehealthAppointments.id, id));
      assert.is(still.status, 'scheduled');
    },
  );

  t(
    'the no-show job marks scheduled visits nobody was admitted to, after the grace',
    async ({ people, db, clock }) => {
      const missed = await insertAppointment(db, people, { startAt: NOW - 2 * HOUR }, NOW - DAY);
      const held = await insertAppointment(db, people, { startAt: NOW - 3 * HOUR }, NOW - DAY);
      const justEnded = await insertAppointment(
        db,
        people,
        { startAt: NOW - 40 * MINUTE },
        NOW - DAY,
      );
      const done = await insertAppointment(
        db,
        people,
        { startAt: NOW - 5 * HOUR, status: 'completed' },
        NOW - DAY,
      );
      await db.insert(videoRoomEvents).values({
        appointmentId: held,
        at: NOW - 3 * HOUR,
        kind: 'admitted',
        userId: people.doctor.principal.id,
        role: 'host',
      });
      const jobs = startAppointmentJobs(db, { now: () => clock.now, noShowGraceMinutes: 15 });
      const otherReplica = startAppointmentJobs(db, { now: () => clock.now });
      try {
        const [a, b] = await Promise.all([jobs.runNow(), otherReplica.runNow()]);
        assert.equal([...a, ...b], [missed], 'marked once, by one of the runs');
        clock.now += 10 * MINUTE;
        assert.equal(await jobs.runNow(), [justEnded]);
        const status = async (id: string) =>
          (
            await db.select().from(telehealthAppointments).where(eq(telehealthAppointments.id, id))
          )[0].status;
        assert.is(await status(missed), 'no-show');
        assert.is(await status(held), 'scheduled', 'the visit began: not a no-show');
        assert.is(await status(done), 'completed');
        const fhir = await new ResourceStore(db).read('Appointment', missed);
        assert.is(fhir?.resource?.status, 'noshow');
      } finally {
        await jobs.stop();
        await otherReplica.stop();
      }
    },
  );
}

const DAY = 24 * HOUR;

interface Setup {
  db: Database['db'];
  people: TelehealthPeople & { admin: Principal };
  api: ReturnType<typeof telehealthApiAs>;
  as(principal: Principal): void;
  clock: { now: number };
}

async function setup(database: Database): Promise<Setup> {
  const db = database.db;
  const people = await seedTelehealth(db, NOW - DAY);
  const adminUser = await createUser(
    db,
    { username: 'th.admin', role: 'administrator', password: 'Harbour-Tulip-8812' },
    NOW,
  );
  const admin: Principal = {
    kind: 'user',
    id: adminUser.id,
    username: 'th.admin',
    role: 'administrator',
    sessionId: 'test-session',
    wards: [],
    patientId: null,
  };
  const clock = { now: NOW };
  let current: Principal = people.patient.principal;
  const api = telehealthApiAs(
    db,
    () => current,
    () => clock.now,
  );
  return {
    db,
    people: { ...people, admin },
    api,
    clock,
    as(principal) {
      current = principal;
    },
  };
}

test.run();
