// The demo's telehealth part: a doctor with open hours, a patient (the first demo patient) and a
// visit booked into the doctor's next free slot, joinable right away on the visit page.
import { base32Decode, totpCode } from '@wardgate/cloud/src/auth/totp.ts';

export const DEMO_DOCTOR = 'demo.doctor';
export const DEMO_PATIENT = 'demo.patient';
/** The first demo patient (cloud seed-demo): the patient who books the visit. */
export const DEMO_PATIENT_ID = 'demo-0001';

type RunToEnd = (name: string, script: string, args: string[]) => Promise<string>;

const passwordOf = (output: string) =>
  /initial password \(shown once\): (\S+)/.exec(output)?.[1] ?? '?';

export interface TelehealthUsers {
  doctorPassword: string;
  patientPassword: string;
}

/** Before serve (PGlite takes one process): the users and the doctor's hours (UTC, all day). */
export async function addTelehealthUsers(
  runToEnd: RunToEnd,
  cloudCli: string,
  dataArgs: string[],
): Promise<TelehealthUsers> {
  const doctor = await runToEnd('cloud', cloudCli, [
    'users',
    'add',
    ...dataArgs,
    '--username',
    DEMO_DOCTOR,
    '--role',
    'doctor',
    '--training-completed',
    new Date().toISOString().slice(0, 10),
  ]);
  const patient = await runToEnd('cloud', cloudCli, [
    'users',
    'add',
    ...dataArgs,
    '--username',
    DEMO_PATIENT,
    '--role',
    'patient',
    '--patient-id',
    DEMO_PATIENT_ID,
  ]);
  // Open every hour so that the demo has a slot starting within 15 minutes whenever it runs.
  await runToEnd('cloud', cloudCli, [
    'providers',
    'set',
    ...dataArgs,
    '--username',
    DEMO_DOCTOR,
    '--family',
    'Visser',
    '--time-zone',
    'UTC',
    '--hours',
    'mon-sun=00:00-24:00',
    '--slot-minutes',
    '15',
    // The example NPI of the CMS documentation: e-prescriptions name their prescriber by NPI.
    '--npi',
    '1234567893',
  ]);
  return { doctorPassword: passwordOf(doctor), patientPassword: passwordOf(patient) };
}

/** The pharmacy the demo's prescriptions go to (the simulator takes any NCPDP id). */
export const DEMO_PHARMACY_NCPDP_ID = '7654321';

export interface DemoVisit {
  appointmentId: string;
  start: string;
  /** The prescription the doctor signed in the visit (the job sends it to the pharmacy). */
  prescriptionId: string;
  /** The doctor's TOTP secret (enrolled by the demo) and its otpauth:// URI for an app. */
  totpSecret: string;
  otpauthUri: string;
}

/**
 * After serve: the patient books the next free slot; the doctor's second factor is enrolled and
 * the doctor signs a prescription in the visit.
 */
export async function bookDemoVisit(cloudUrl: string, users: TelehealthUsers): Promise<DemoVisit> {
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${cloudUrl}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token && { authorization: `Bearer ${token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, never>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json as Record<string, unknown> & Record<string, never>;
  };
  const login = (username: string, password: string) =>
    call('POST', '/api/auth/login', undefined, { username, password });

  const doctor = await login(DEMO_DOCTOR, users.doctorPassword);
  const doctorToken = doctor.token as string;
  const enrolment = await call('POST', '/api/auth/mfa/enrol', doctorToken);
  const totpSecret = enrolment.secret as string;
  await call('POST', '/api/auth/mfa/activate', doctorToken, {
    code: totpCode(base32Decode(totpSecret), Date.now()),
  });
  const doctorUserId = (doctor.user as { id: string }).id;

  const patientToken = (await login(DEMO_PATIENT, users.patientPassword)).token as string;
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const slots = await call(
    'GET',
    `/api/telehealth/providers/${doctorUserId}/slots?from=${today}&to=${tomorrow}&status=free`,
    patientToken,
  );
  const entries = (slots.entry ?? []) as { resource: { start: string } }[];
  const next = entries.map((e) => e.resource.start).sort()[0];
  if (!next) throw new Error('the demo doctor has no free slot');
  const booked = await call('POST', '/api/telehealth/appointments', patientToken, {
    providerId: doctorUserId,
    start: next,
    type: 'consultation',
    chiefComplaint: 'Short of breath when climbing stairs since last week',
  });
  const appointment = booked.appointment as { id: string; start: string };
  const signed = await call(
    'POST',
    `/api/telehealth/appointments/${appointment.id}/prescriptions`,
    doctorToken,
    {
      medications: [
        {
          rxnorm: '29046',
          strength: '10 mg tablet',
          sig: 'Take one tablet by mouth once daily',
          quantity: { value: 30, unit: 'tablet' },
          daysSupply: 30,
          refills: 1,
        },
      ],
    },
  );
  return {
    appointmentId: appointment.id,
    start: appointment.start,
    prescriptionId: (signed.prescriptions as { id: string }[])[0].id,
    totpSecret,
    otpauthUri: enrolment.otpauthUri as string,
  };
}
