import { createAuditLog } from '@wardgate/cloud/src/audit/chain-writer.ts';
import { createClient } from '@wardgate/cloud/src/auth/clients.ts';
import {
  ARGON2ID_MEMLIMIT,
  ARGON2ID_OPSLIMIT,
  authApp,
  authenticate,
  createUser,
} from '@wardgate/cloud/src/auth/index.ts';
import { base32Decode, totpCode } from '@wardgate/cloud/src/auth/totp.ts';
import { keyRingOf } from '@wardgate/cloud/src/crypto/index.ts';
import type { Database } from '@wardgate/cloud/src/db/database.ts';
import { careAssignments } from '@wardgate/cloud/src/db/schema.ts';
import { fhirApp } from '@wardgate/cloud/src/fhir/index.ts';
import { fhirJson } from '@wardgate/cloud/src/fhir/operation-outcome.ts';
import { ResourceStore } from '@wardgate/cloud/src/fhir/store/resource-store.ts';
import { Hono } from 'hono';
import { percentile } from './percentile.ts';

export interface LatencyFigures {
  p50: number;
  p99: number;
}

export interface SecurityOverheadFigures {
  reads: number;
  /** A FHIR read as it was before security: the store read (PHI opened) answered as JSON. */
  bare: LatencyFigures;
  /** The same read through authentication, authorization and the audit trail, as a doctor. */
  doctor: LatencyFigures;
  /** ... with the read's audit record waiting for the disk flush (--durable-read-audit). */
  doctorDurable: LatencyFigures;
  /** ... and as an API client with a SMART system scope. */
  client: LatencyFigures;
  /** Sign-in: password (Argon2id) then the TOTP step, through the API. */
  login: LatencyFigures;
  argon2id: { opslimit: number; memlimitMb: number };
}

const PATIENTS = 200;
const IN_CARE = 40;
const PER_PATIENT = 10;
const PASSWORD = 'Lantern-Orchard-8842';

/** Milliseconds of each of `rounds` runs, added to `samples`. */
async function sample(rounds: number, run: (i: number) => Promise<void>, samples: number[] = []) {
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    await run(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples;
}

function figures(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

async function expectOk(response: Response | Promise<Response>, what: string): Promise<unknown> {
  const res = await response;
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * The cost security adds to a FHIR read: the same reads of a doctor's patients' Observations
 * without it (store read + JSON) and through the production mount (authenticate → authorize →
 * audit record committed before the answer), one at a time, p50/p99; and sign-in time with the
 * chosen Argon2id parameters.
 */
export async function benchSecurityOverhead(
  database: Database,
  reads = 3000,
): Promise<SecurityOverheadFigures> {
  const db = database.db;
  const store = new ResourceStore(db);
  const observations: string[] = [];
  for (let p = 0; p < PATIENTS; p++) {
    const patient = `bench-p${p}`;
    await store.update({ resourceType: 'Patient', id: patient, name: [{ family: `P${p}` }] });
    for (let i = 0; i < PER_PATIENT; i++) {
      const created = await store.create({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${patient}` },
        valueQuantity: { value: 60 + i, unit: '/min' },
      });
      if (p < IN_CARE) observations.push(created.id);
    }
  }

  const audit = createAuditLog(db);
  const options = { audit, secretBox: keyRingOf(db) };
  const doctor = await createUser(
    db,
    {
      username: 'bench.doctor',
      role: 'doctor',
      password: PASSWORD,
      trainingCompletedAt: Date.now(),
    },
    Date.now(),
  );
  await db.insert(careAssignments).values(
    Array.from({ length: IN_CARE }, (_, p) => ({
      userId: doctor.id,
      patientId: `bench-p${p}`,
      fromTime: 0,
    })),
  );

  const bare = new Hono().get('/fhir/R4/Observation/:id', async (c) => {
    const version = await store.read('Observation', c.req.param('id'));
    return fhirJson(c, version?.resource);
  });
  // As cloudApp mounts it: read records commit without waiting for the disk flush...
  const readAudit = createAuditLog(db, { synchronousCommit: false });
  const secured = new Hono()
    .route('/api', authApp(db, options))
    .use('/fhir/R4/*', authenticate(db, options))
    .route('/fhir/R4', fhirApp(db, { audit, readAudit }));
  // ... and with --durable-read-audit, when they wait for it too.
  const durable = new Hono()
    .use('/fhir/R4/*', authenticate(db, options))
    .route('/fhir/R4', fhirApp(db, { audit }));

  const json = (body: unknown, token?: string) => ({
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  // The doctor's first sign-in enrols TOTP; later sign-ins are password + code.
  const first = (await expectOk(
    secured.request('/api/auth/login', json({ username: 'bench.doctor', password: PASSWORD })),
    'login',
  )) as { token: string };
  const enrol = (await expectOk(
    secured.request('/api/auth/mfa/enrol', json({}, first.token)),
    'enrol',
  )) as { secret: string };
  const secret = base32Decode(enrol.secret);
  const { recoveryCodes } = (await expectOk(
    secured.request(
      '/api/auth/mfa/activate',
      json({ code: totpCode(secret, Date.now()) }, first.token),
    ),
    'activate',
  )) as { recoveryCodes: string[] };

  // A TOTP code is good once per 30 s step: the timed sign-ins take their second factor from
  // the one-time recovery codes instead (the same check of a hashed secret).
  const signIn = async () => {
    const signed = (await expectOk(
      secured.request('/api/auth/login', json({ username: 'bench.doctor', password: PASSWORD })),
      'login',
    )) as { token: string };
    const recoveryCode = recoveryCodes.pop();
    await expectOk(
      secured.request('/api/auth/mfa', json({ recoveryCode }, signed.token)),
      'second factor',
    );
    return signed.token;
  };
  const loginSamples = await sample(6, async () => {
    await signIn();
  });

  const client = await createClient(
    db,
    { name: 'bench', scopes: ['system/Observation.read'] },
    Date.now(),
  );
  const token = (await expectOk(
    secured.request('/api/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.client.id,
        client_secret: client.secret,
      }),
    }),
    'token',
  )) as { access_token: string };
  const session = { token: await signIn() };

  const read = (app: { request: Hono['request'] }, bearer?: string) => async (i: number) => {
    const res = await app.request(`/fhir/R4/Observation/${observations[i % observations.length]}`, {
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    });
    if (res.status !== 200) throw new Error(`read ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  // Warm-up, then the three kinds interleaved in blocks so any drift hits them alike.
  await sample(200, read(bare));
  await sample(200, read(secured, session.token));
  const kinds: number[][] = [[], [], [], []];
  const block = 250;
  for (let done = 0; done < reads; done += block) {
    await sample(block, read(bare), kinds[0]);
    await sample(block, read(secured, session.token), kinds[1]);
    await sample(block, read(secured, token.access_token), kinds[2]);
    await sample(block, read(durable, session.token), kinds[3]);
  }
  await audit.idle();
  return {
    reads,
    bare: figures(kinds[0]),
    doctor: figures(kinds[1]),
    client: figures(kinds[2]),
    doctorDurable: figures(kinds[3]),
    login: figures(loginSamples),
    argon2id: { opslimit: ARGON2ID_OPSLIMIT, memlimitMb: ARGON2ID_MEMLIMIT / 1048576 },
  };
}
