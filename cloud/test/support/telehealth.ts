import { randomUUID } from 'node:crypto';
import { assignPatient } from '../../src/auth/care-assignments.ts';
import type { Principal, UserPrincipal } from '../../src/auth/principal.ts';
import { createUser } from '../../src/auth/users.ts';
import type { Db } from '../../src/db/database.ts';
import { ResourceStore } from '../../src/fhir/store/resource-store.ts';
import { fhirAppointment } from '../../src/telehealth/appointments/fhir-appointment.ts';
import {
  telehealthAppointments,
  telehealthProviders,
} from '../../src/telehealth/appointments/schema.ts';
import type {
  AppointmentStatus,
  AppointmentType,
} from '../../src/telehealth/appointments/visit.ts';
import { type TelehealthOptions, telehealthApp } from '../../src/telehealth/index.ts';

import { apiUnderTest } from './access.ts';

export const TELEHEALTH_PASSWORD = 'Harbour-Tulip-8812';

export interface TelehealthPerson {
  /** The user as a principal (a fake session id: for in-process apps, not a running cloud). */
  principal: UserPrincipal;
  username: string;
}

export interface TelehealthPeople {
  /** Hosts the visits (a provider with working hours Mon–Fri 09:00–17:00 Europe/Amsterdam). */
  doctor: TelehealthPerson & { practitionerId: string };
  patient: TelehealthPerson & { patientId: string };
  /** A doctor and a patient with no part in the appointments: refused everywhere. */
  otherDoctor: TelehealthPerson & { practitionerId: string };
  otherPatient: TelehealthPerson & { patientId: string };
}

/** Users, Patients and providers for telehealth tests: all with TELEHEALTH_PASSWORD. */
export async function seedTelehealth(
  db: Db,
  now: number,
  prefix = 'th',
): Promise<TelehealthPeople> {
  const store = new ResourceStore(db);
  const patient = async (name: string, family: string) => {
    const saved = await store.create({
      resourceType: 'Patient',
      name: [{ given: [name], family }],
      gender: 'female',
      birthDate: '1970-04-01',
      telecom: [
        { system: 'email', value: `${name.toLowerCase()}@example.org` },
        { system: 'phone', value: '+31612345678', use: 'mobile' },
      ],
    });
    const username = `${prefix}.${name.toLowerCase()}`;
    const user = await createUser(
      db,
      { username, role: 'patient', password: TELEHEALTH_PASSWORD, patientId: saved.id },
      now,
    );
    return { principal: principalOf(user, saved.id), username, patientId: saved.id };
  };
  const doctor = async (name: string) => {
    const username = `${prefix}.dr.${name.toLowerCase()}`;
    const user = await createUser(
      db,
      { username, role: 'doctor', password: TELEHEALTH_PASSWORD, trainingCompletedAt: now },
      now,
    );
    const practitioner = await store.create({
      resourceType: 'Practitioner',
      name: [{ family: name, prefix: ['Dr.'] }],
    });
    const schedule = await store.create({
      resourceType: 'Schedule',
      active: true,
      actor: [{ reference: `Practitioner/${practitioner.id}` }],
    });
    await db.insert(telehealthProviders).values({
      userId: user.id,
      practitionerId: practitioner.id,
      scheduleId: schedule.id,
      timeZone: 'Europe/Amsterdam',
      workingHours: Object.fromEntries(
        ['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', '17:00']]]),
      ),
      slotMinutes: 30,
      updatedAt: now,
    });
    return { principal: principalOf(user, null), username, practitionerId: practitioner.id };
  };
  return {
    doctor: await doctor('Visser'),
    patient: await patient('Anna', 'Jansen'),
    otherDoctor: await doctor('Bakker'),
    otherPatient: await patient('Bram', 'Smit'),
  };
}

function principalOf(
  user: { id: string; username: string; role: string },
  patientId: string | null,
): UserPrincipal {
  return {
    kind: 'user',
    id: user.id,
    username: user.username,
    role: user.role as UserPrincipal['role'],
    sessionId: 'test-session',
    wards: [],
    patientId,
  };
}

/**
 * An appointment of `people.patient` with `people.doctor` written straight into the ledger and
 * the FHIR store (and the patient put in the doctor's care, as booking does), for the tests of
 * what happens around an appointment; the booking tests book through the API.
 */
export async function insertAppointment(
  db: Db,
  people: TelehealthPeople,
  fields: { startAt: number; endAt?: number; type?: AppointmentType; status?: AppointmentStatus },
  now = fields.startAt,
): Promise<string> {
  const id = randomUUID();
  const row = {
    id,
    providerUserId: people.doctor.principal.id,
    patientId: people.patient.patientId,
    type: fields.type ?? 'consultation',
    status: fields.status ?? 'scheduled',
    startAt: fields.startAt,
    endAt: fields.endAt ?? fields.startAt + 30 * 60_000,
    chiefComplaint: null,
    rescheduledFrom: null,
    createdAt: now,
    updatedAt: now,
  } as const;
  await db.insert(telehealthAppointments).values(row);
  await new ResourceStore(db).update(
    fhirAppointment({ ...row, practitionerId: people.doctor.practitionerId }),
  );
  await assignPatient(db, people.doctor.principal.id, people.patient.patientId, now);
  return id;
}

/**
 * The telehealth API in process, behind real access control and audit, as whoever `who()`
 * returns at the time of each call: `call(method, path, body?)` answers status and JSON.
 */
export function telehealthApiAs(
  db: Db,
  who: () => Principal,
  now: () => number,
  options: TelehealthOptions = {},
) {
  const { app } = apiUnderTest(db, who, now);
  app.route('/api/telehealth', telehealthApp(db, { now, ...options }));
  return {
    app,
    async call(
      method: string,
      path: string,
      body?: unknown,
      // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field.
    ): Promise<{ status: number; body: any }> {
      const res = await app.request(`/api/telehealth${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
}
