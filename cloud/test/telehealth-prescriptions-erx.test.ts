// E-prescribing: NCPDP SCRIPT NewRx from a signed prescription to the local pharmacy simulator
// over HTTP, its Status or Error answer, retries with backoff, giving up, sending each
// prescription once — on PGlite and PostgreSQL.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { eq, gt } from 'drizzle-orm';
import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Principal } from '../src/auth/principal.ts';
import type { Database } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { NPI_SYSTEM } from '../src/telehealth/appointments/npi.ts';
import { telehealthApp } from '../src/telehealth/index.ts';
import type { TelehealthOptions } from '../src/telehealth/options.ts';
import {
  type PharmacySimulator,
  startPharmacySimulator,
} from '../src/telehealth/pharmacy-simulator/server.ts';
import {
  ERX_TRANSMISSION_EXTENSION,
  startPrescriptionTransmission,
} from '../src/telehealth/prescriptions/index.ts';
import { buildNewRx, parseAnswer } from '../src/telehealth/prescriptions/ncpdp-script.ts';
import { prescriptions } from '../src/telehealth/prescriptions/schema.ts';
import { apiUnderTest } from './support/access.ts';
import { insertAppointment, seedTelehealth, type TelehealthPeople } from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const MINUTE = 60_000;
const START = Date.UTC(2026, 5, 3, 9, 0);
const PHARMACY = '7654321';
const NPI = '1234567893';
const RETRY_BASE = 1000;
const MAX_ATTEMPTS = 3;

for (const target of testDatabaseTargets()) {
  const t = suite(`telehealth e-prescribing (${target.name})`);
  let database: Database;
  let app: Hono;
  let people: TelehealthPeople;
  let appointmentId: string;
  let as: Principal;
  let pharmacy: PharmacySimulator;
  let options: TelehealthOptions;
  let job: ReturnType<typeof startPrescriptionTransmission>;
  let now = START + 10 * MINUTE;

  const sign = async (medication: Record<string, unknown>) => {
    as = people.doctor.principal;
    const res = await app.request(
      `http://localhost/api/telehealth/appointments/${appointmentId}/prescriptions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          medications: [
            {
              sig: 'Take one tablet daily',
              quantity: { value: 30, unit: 'tablet' },
              daysSupply: 30,
              refills: 2,
              ...medication,
            },
          ],
        }),
      },
    );
    const body = (await res.json()) as Json;
    assert.is(res.status, 201, JSON.stringify(body));
    return body.prescriptions[0].id as string;
  };
  const row = async (id: string) =>
    (await database.db.select().from(prescriptions).where(eq(prescriptions.id, id)))[0];
  const transmissionOf = async (id: string) => {
    const request = (await new ResourceStore(database.db).read('MedicationRequest', id))
      ?.resource as Json;
    const ext = request.extension.find((e: Json) => e.url === ERX_TRANSMISSION_EXTENSION);
    return Object.fromEntries(
      ext.extension.map((e: Json) => [
        e.url,
        e.valueCode ?? e.valueString ?? e.valueInteger ?? e.valueInstant,
      ]),
    );
  };
  const setNpi = async (npi: string | undefined) => {
    const store = new ResourceStore(database.db);
    const practitioner = (await store.read('Practitioner', people.doctor.practitionerId))
      ?.resource as Json;
    const { identifier: _dropped, ...rest } = practitioner;
    await store.update(npi ? { ...rest, identifier: [{ system: NPI_SYSTEM, value: npi }] } : rest);
  };

  t.before(async () => {
    database = await target.open();
    people = await seedTelehealth(database.db, START - 86_400_000);
    appointmentId = await insertAppointment(database.db, people, { startAt: START });
    await setNpi(NPI);
    pharmacy = await startPharmacySimulator();
    options = {
      now: () => now,
      pharmacy: {
        url: pharmacy.url,
        ncpdpId: PHARMACY,
        name: 'Simulated Pharmacy & Co',
        retryBaseMs: RETRY_BASE,
        maxAttempts: MAX_ATTEMPTS,
        timeoutMs: 5000,
      },
    };
    as = people.doctor.principal;
    const under = apiUnderTest(
      database.db,
      () => as,
      () => now,
    );
    under.app.route('/api/telehealth', telehealthApp(database.db, options));
    app = under.app;
    job = startPrescriptionTransmission(database.db, options);
  });

  t.after(async () => {
    await job.stop();
    await pharmacy.close();
    await database.close();
  });

  t.before.each(() => {
    pharmacy.setFailureModes({});
  });

  t('NewRx round trip: the pharmacy reads back what was prescribed, XML-escaped', async () => {
    const sig = 'Take 1 capsule <by mouth> three times daily & "with" food\'s help';
    const id = await sign({
      rxnorm: '723',
      strength: '500 mg capsule',
      sig,
      quantity: { value: 21, unit: 'capsule' },
      daysSupply: 7,
      refills: 0,
      substitutionAllowed: false,
    });
    const seq = (await database.db.select().from(auditLog)).reduce((m, r) => Math.max(m, r.seq), 0);
    const round = await job.runNow();
    assert.equal(round, { sent: 1, retrying: 0, failed: 0 });
    const stored = await row(id);
    assert.is(stored.transmission, 'sent');
    assert.is(stored.attempts, 1);
    assert.is(stored.sentAt, now);
    assert.is(stored.lastError, null);

    assert.is(pharmacy.received.length, 1);
    const { newRx, messageId } = pharmacy.received[0];
    assert.is(messageId, stored.messageId);
    assert.is(newRx.from, 'wardgate');
    assert.is(newRx.prescriberOrderNumber, id);
    assert.equal(newRx.patient, {
      lastName: 'Jansen',
      firstName: 'Anna',
      gender: 'F',
      birthDate: '1970-04-01',
    });
    assert.equal(newRx.pharmacy, { ncpdpId: PHARMACY, name: 'Simulated Pharmacy & Co' });
    assert.equal(newRx.prescriber, { npi: NPI, lastName: 'Visser', firstName: undefined });
    assert.equal(newRx.medication, {
      description: 'amoxicillin 500 mg capsule',
      rxnorm: '723',
      rxnormQualifier: 'IN',
      quantity: { value: 21, unitCode: 'C48480' },
      daysSupply: 7,
      writtenDate: '2026-06-03',
      substitutions: 1,
      refills: 0,
      sig,
    });

    // The simulator's own list says the same over HTTP.
    const listed = (await (
      await fetch(pharmacy.url.replace('/script', '/prescriptions'))
    ).json()) as Json;
    assert.is(listed.prescriptions[0].newRx.medication.sig, sig);

    assert.equal(await transmissionOf(id), {
      status: 'sent',
      messageId: stored.messageId,
      pharmacy: PHARMACY,
      attempts: 1,
      sentAt: new Date(now).toISOString(),
    });
    as = people.patient.principal;
    const seen = (await (
      await app.request(
        `http://localhost/api/telehealth/appointments/${appointmentId}/prescriptions`,
      )
    ).json()) as Json;
    assert.is(seen.prescriptions.find((p: Json) => p.id === id).transmission.status, 'sent');

    const exported = (await database.db.select().from(auditLog).where(gt(auditLog.seq, seq))).find(
      (r) => r.action === 'export',
    );
    assert.ok(exported, 'the disclosure to the pharmacy is audited');
    assert.equal(exported.patientIds, [people.patient.patientId]);
    assert.is(exported.outcome, 'success');
  });

  t('503s are retried with backoff until the pharmacy accepts', async () => {
    pharmacy.setFailureModes({ failFirst: 2 });
    const id = await sign({ rxnorm: '29046', strength: '10 mg tablet' });
    const requestsBefore = pharmacy.requests;
    assert.equal(await job.runNow(), { sent: 0, retrying: 1, failed: 0 });
    let stored = await row(id);
    assert.is(stored.transmission, 'pending');
    assert.is(stored.lastError, 'HTTP 503');
    assert.is(stored.nextAttemptAt, now + RETRY_BASE);
    assert.equal(await job.runNow(), { sent: 0, retrying: 0, failed: 0 }, 'not due yet');
    now += RETRY_BASE;
    assert.equal(await job.runNow(), { sent: 0, retrying: 1, failed: 0 });
    stored = await row(id);
    assert.is(stored.nextAttemptAt, now + 2 * RETRY_BASE, 'the wait doubles');
    now += 2 * RETRY_BASE;
    assert.equal(await job.runNow(), { sent: 1, retrying: 0, failed: 0 });
    stored = await row(id);
    assert.is(stored.transmission, 'sent');
    assert.is(stored.attempts, 3);
    assert.is(pharmacy.requests - requestsBefore, 3);
    assert.is(pharmacy.received.filter((r) => r.messageId === stored.messageId).length, 1);
  });

  t(
    'a dropped connection after the pharmacy stored it: the retry is recognised, kept once',
    async () => {
      pharmacy.setFailureModes({ dropFirst: 1 });
      const id = await sign({ rxnorm: '9997', strength: '25 mg tablet' });
      assert.equal(await job.runNow(), { sent: 0, retrying: 1, failed: 0 });
      const stored = await row(id);
      assert.match(stored.lastError ?? '', /^network: /);
      assert.is(pharmacy.received.filter((r) => r.messageId === stored.messageId).length, 1);
      now += RETRY_BASE;
      assert.equal(await job.runNow(), { sent: 1, retrying: 0, failed: 0 });
      assert.is((await row(id)).transmission, 'sent');
      assert.is(pharmacy.received.filter((r) => r.messageId === stored.messageId).length, 1);
    },
  );

  t('a SCRIPT Error on every attempt: failed after maxAttempts, then left alone', async () => {
    pharmacy.setFailureModes({ errorForRxnorm: ['2231'] });
    const id = await sign({
      rxnorm: '2231',
      strength: '500 mg capsule',
      quantity: { value: 28, unit: 'capsule' },
    });
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      assert.equal(await job.runNow(), { sent: 0, retrying: 1, failed: 0 });
      now += 10 * RETRY_BASE;
    }
    assert.equal(await job.runNow(), { sent: 0, retrying: 0, failed: 1 });
    const stored = await row(id);
    assert.is(stored.transmission, 'failed');
    assert.is(stored.attempts, MAX_ATTEMPTS);
    assert.match(stored.lastError ?? '', /^SCRIPT Error 601: RxNorm 2231 cannot be dispensed/);
    assert.is(stored.nextAttemptAt, null);
    const ext = await transmissionOf(id);
    assert.is(ext.status, 'failed');
    assert.match(ext.lastError, /SCRIPT Error 601/);
    const requests = pharmacy.requests;
    now += 100 * RETRY_BASE;
    assert.equal(await job.runNow(), { sent: 0, retrying: 0, failed: 0 });
    assert.is(pharmacy.requests, requests);
    assert.ok(!pharmacy.received.some((r) => r.messageId === stored.messageId));
  });

  t('a prescriber without an NPI cannot e-prescribe: failed at once, nothing sent', async () => {
    await setNpi(undefined);
    try {
      const id = await sign({ rxnorm: '83367', strength: '20 mg tablet' });
      const requests = pharmacy.requests;
      assert.equal(await job.runNow(), { sent: 0, retrying: 0, failed: 1 });
      const stored = await row(id);
      assert.is(stored.transmission, 'failed');
      assert.match(stored.lastError ?? '', /has no NPI/);
      assert.is(pharmacy.requests, requests);
    } finally {
      await setNpi(NPI);
    }
  });

  t('two workers at once: the prescription is sent once', async () => {
    const id = await sign({ rxnorm: '36437', strength: '50 mg tablet' });
    const other = startPrescriptionTransmission(database.db, options);
    try {
      const requests = pharmacy.requests;
      const rounds = await Promise.all([job.runNow(), other.runNow(), job.runNow()]);
      assert.is(
        rounds.reduce((n, r) => n + r.sent, 0),
        1,
        JSON.stringify(rounds),
      );
      assert.is(pharmacy.requests - requests, 1);
      assert.is((await row(id)).attempts, 1);
    } finally {
      await other.stop();
    }
  });

  t('without a pharmacy URL prescriptions wait, pending', async () => {
    const id = await sign({ rxnorm: '6058', strength: '10 mg tablet' });
    const idle = startPrescriptionTransmission(database.db, { now: () => now });
    try {
      assert.equal(await idle.runNow(), { sent: 0, retrying: 0, failed: 0 });
      assert.is((await row(id)).transmission, 'pending');
    } finally {
      await idle.stop();
    }
    await job.runNow();
    assert.is((await row(id)).transmission, 'sent');
  });

  t.run();
}

const sample = {
  messageId: 'm-1',
  sentAt: START,
  from: 'wardgate',
  prescriberOrderNumber: 'p-1',
  patient: { lastName: "O'Brien", firstName: 'Zoë', gender: 'F' as const, birthDate: '1980-01-02' },
  pharmacy: { ncpdpId: PHARMACY },
  prescriber: { npi: NPI, lastName: 'Visser' },
  medication: {
    description: 'warfarin 5 mg tablet',
    rxnorm: '11289',
    rxnormQualifier: 'IN',
    quantity: { value: 30, unitCode: 'C48542' },
    daysSupply: 30,
    writtenDate: '2026-06-03',
    substitutions: 0 as const,
    refills: 1,
    sig: 'Take as directed </SigText><Injected/>',
  },
};

const sim = suite('pharmacy simulator');
let simulator: PharmacySimulator;
const post = (body: string, contentType = 'application/xml') =>
  fetch(simulator.url, { method: 'POST', headers: { 'content-type': contentType }, body });

sim.before(async () => {
  simulator = await startPharmacySimulator();
});
sim.after(async () => {
  await simulator.close();
});

sim('answers Status to a valid NewRx and keeps each MessageID once', async () => {
  for (let i = 0; i < 2; i++) {
    const res = await post(buildNewRx(sample));
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/xml/);
    const answer = parseAnswer(await res.text());
    assert.equal('kind' in answer && [answer.kind, answer.code, answer.relatesTo], [
      'status',
      '010',
      'm-1',
    ]);
  }
  assert.is(simulator.received.length, 1);
  assert.equal(simulator.received[0].newRx.patient.lastName, "O'Brien");
  assert.equal(simulator.received[0].newRx.medication.sig, sample.medication.sig);
});

sim('answers Error naming what is missing: no RxNorm code, bad NPI', async () => {
  const xml = buildNewRx({
    ...sample,
    messageId: 'm-2',
    prescriber: { npi: '12', lastName: 'V' },
  }).replace(/<DrugDBCode>.*<\/DrugDBCode>/, '');
  const answer = parseAnswer(await (await post(xml)).text());
  assert.ok('kind' in answer && answer.kind === 'error', JSON.stringify(answer));
  assert.is(answer.code, '900');
  assert.match(answer.description, /DrugDBCode\/Code is required/);
  assert.match(answer.description, /NPI "12" is malformed/);
  const ndc = parseAnswer(
    await (
      await post(
        buildNewRx({
          ...sample,
          messageId: 'm-3',
          medication: { ...sample.medication, rxnormQualifier: 'ND' },
        }),
      )
    ).text(),
  );
  assert.ok(
    'kind' in ndc && ndc.kind === 'error' && /Qualifier "ND" is malformed/.test(ndc.description),
  );
  assert.ok(!simulator.received.some((r) => r.messageId === 'm-2'));
});

sim('refuses what is not SCRIPT XML', async () => {
  assert.is((await post('{}', 'application/json')).status, 415);
  const dtd = parseAnswer(
    await (await post('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Message/>')).text(),
  );
  assert.ok('kind' in dtd && dtd.kind === 'error' && /DTD/.test(dtd.description));
  const broken = parseAnswer(await (await post('<Message><Header></Message>')).text());
  assert.ok('kind' in broken && broken.kind === 'error' && /well-formed/.test(broken.description));
});

sim('the command line starts it on the given port and prints its URL', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cloud/src/telehealth/pharmacy-simulator/main.ts',
      '--port',
      '0',
      '--fail-first',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    const lines = createInterface({ input: child.stdout });
    const url = await new Promise<string>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('no URL printed within 20 s')), 20_000);
      lines.once('line', (line) => {
        clearTimeout(deadline);
        resolve(line);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/script$/);
    const headers = { 'content-type': 'application/xml' };
    const first = await fetch(url, { method: 'POST', headers, body: buildNewRx(sample) });
    assert.is(first.status, 503);
    const second = await fetch(url, { method: 'POST', headers, body: buildNewRx(sample) });
    assert.is(second.status, 200);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

sim.run();
