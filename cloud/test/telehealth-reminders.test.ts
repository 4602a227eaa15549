import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Principal } from '../src/auth/principal.ts';
import type { Database } from '../src/db/database.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { appointmentReminders } from '../src/telehealth/appointments/schema.ts';
import { startReminderJob } from '../src/telehealth/reminders/job.ts';
import type { ReminderOptions } from '../src/telehealth/reminders/options.ts';
import { seedTelehealth, type TelehealthPeople, telehealthApiAs } from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Wednesday 2026-03-25 10:00 UTC. */
const NOW = Date.UTC(2026, 2, 25, 10);
/** Monday 2026-03-30 09:00 in Amsterdam. */
const MONDAY_9 = Date.UTC(2026, 2, 30, 7);
const RETRY_BASE = 5 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

interface Mail {
  to: string[];
  raw: string;
}

/** A real SMTP server on a free port; `rejectNext` makes the next recipients fail with 451. */
async function localSmtp() {
  const received: Mail[] = [];
  const state = { rejectNext: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (state.rejectNext > 0) {
        state.rejectNext--;
        const error = Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 });
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          // Quoted-printable unfolded and decoded: the message as its reader sees it.
          raw: Buffer.concat(chunks)
            .toString('utf8')
            .replace(/=\r?\n/g, '')
            .replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16))),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    received,
    state,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Sms {
  from: string;
  to: string;
  body: string;
  idempotencyKey: string;
}

/** A stub of the SMS provider's HTTP API (reminders/sms-sender.ts): real HTTP on a free port. */
async function smsStub() {
  const delivered: Sms[] = [];
  const attempts: string[] = [];
  const state = { failNext: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/messages')
        return answer(404, { error: 'not found' });
      if (req.headers.authorization !== 'Bearer sms-test-key')
        return answer(401, { error: 'bad key' });
      const key = String(req.headers['idempotency-key'] ?? '');
      attempts.push(key);
      if (state.failNext > 0) {
        state.failNext--;
        return answer(503, { error: 'try later' });
      }
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      delivered.push({ ...message, idempotencyKey: key });
      answer(201, { id: `SM${delivered.length}`, status: 'queued' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    delivered,
    attempts,
    state,
    url: `http://127.0.0.1:${port}/v1/messages`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Kit {
  db: Database['db'];
  people: TelehealthPeople;
  clock: { now: number };
  smtp: Awaited<ReturnType<typeof localSmtp>>;
  sms: Awaited<ReturnType<typeof smsStub>>;
  api: ReturnType<typeof telehealthApiAs>;
  as(principal: Principal): void;
  options: ReminderOptions;
  book(who: Principal, start: number): Promise<string>;
}

for (const target of testDatabaseTargets()) {
  const t = (name: string, run: (kit: Kit) => Promise<void>) =>
    test(`${target.name}: ${name}`, async () => {
      const database = await target.open();
      const smtp = await localSmtp();
      const sms = await smsStub();
      try {
        const db = database.db;
        const people = await seedTelehealth(db, NOW - DAY);
        const clock = { now: NOW };
        const options: ReminderOptions = {
          smtp: { url: smtp.url, from: 'visits@wardgate.test' },
          sms: { url: sms.url, apiKey: 'sms-test-key', from: 'Wardgate' },
          retryBaseMs: RETRY_BASE,
          maxAttempts: 3,
          // Never fires during a test: runs are started with runNow.
          cron: '0 0 1 1 *',
          joinHint: 'https://care.example.org/telehealth',
        };
        let current: Principal = people.patient.principal;
        const api = telehealthApiAs(
          db,
          () => current,
          () => clock.now,
          { reminders: options },
        );
        const as = (p: Principal) => {
          current = p;
        };
        const book = async (who: Principal, start: number) => {
          as(who);
          const res = await api.call('POST', '/appointments', {
            providerId: people.doctor.principal.id,
            start: iso(start),
            type: 'mental-health',
            chiefComplaint: 'Panic attacks at work',
          });
          assert.is(res.status, 201, JSON.stringify(res.body));
          return res.body.appointment.id as string;
        };
        await run({ db, people, clock, smtp, sms, api, as, options, book });
      } finally {
        await smtp.close();
        await sms.close();
        await database.close();
      }
    });

  t(
    'reminders go out once per lead by e-mail and SMS, only to patients who opted in',
    async ({ db, people, clock, smtp, sms, api, as, options, book }) => {
      as(people.patient.principal);
      assert.equal((await api.call('GET', '/reminders/preferences')).body.preferences, {
        email: false,
        sms: false,
      });
      const optIn = await api.call('PUT', '/reminders/preferences', { email: true, sms: true });
      assert.is(optIn.status, 200);
      assert.is((await api.call('PUT', '/reminders/preferences', { email: 'yes' })).status, 400);
      as(people.doctor.principal);
      assert.is(
        (await api.call('PUT', '/reminders/preferences', { email: true, sms: true })).status,
        403,
      );

      const mine = await book(people.patient.principal, MONDAY_9);
      // The other patient opted in but has no e-mail address or phone number on record.
      const unreachable = await book(people.otherPatient.principal, MONDAY_9 + HOUR);
      await api.call('PUT', '/reminders/preferences', { email: true, sms: true });
      const store = new ResourceStore(db);
      const record = await store.read('Patient', people.otherPatient.patientId);
      await store.update({ ...record?.resource, resourceType: 'Patient', telecom: undefined });
      const cancelled = await book(people.patient.principal, MONDAY_9 + 2 * HOUR);
      as(people.patient.principal);
      await api.call('POST', `/appointments/${cancelled}/cancel`, { reason: 'Feeling better' });

      // Two jobs (two replicas) run at the moment the 24-hour reminders fall due.
      const jobs = [startReminderJob(db, { now: () => clock.now, reminders: options })];
      jobs.push(startReminderJob(db, { now: () => clock.now, reminders: options }));
      try {
        clock.now = MONDAY_9 - DAY;
        assert.equal(
          (await Promise.all(jobs.map((j) => j.runNow()))).reduce((sum, r) => sum + r.sent, 0),
          2,
        );
        assert.is(smtp.received.length, 1);
        assert.equal(smtp.received[0].to, ['anna@example.org']);
        assert.is(sms.delivered.length, 1);
        assert.is(sms.delivered[0].to, '+31612345678');
        assert.is(sms.delivered[0].from, 'Wardgate');
        for (const text of [smtp.received[0].raw, sms.delivered[0].body]) {
          assert.match(text, /Dr\. Visser/);
          assert.match(text, /care\.example\.org\/telehealth/);
          assert.match(text, /30 Mar 2026, 09:00 CEST/, 'the time in the clinician’s zone');
          for (const phi of ['Anna', 'Jansen', 'Panic', 'mental', 'Mental'])
            assert.not.match(text, phi, `${phi} stays out of the message`);
        }

        // Nothing twice, however often the jobs run.
        await Promise.all(jobs.map((j) => j.runNow()));
        clock.now += 30 * MINUTE;
        await Promise.all(jobs.map((j) => j.runNow()));
        assert.is(smtp.received.length, 1);
        assert.is(sms.delivered.length, 1);

        // The patient takes SMS back before the 1-hour reminder.
        await api.call('PUT', '/reminders/preferences', { email: true, sms: false });
        clock.now = MONDAY_9 - HOUR;
        await Promise.all(jobs.map((j) => j.runNow()));
        assert.is(smtp.received.length, 2);
        assert.is(sms.delivered.length, 1, 'opt-out honoured');

        clock.now = MONDAY_9 + 3 * HOUR;
        await Promise.all(jobs.map((j) => j.runNow()));
        assert.is(smtp.received.length, 2, 'the cancelled visit and the other patient get none');

        const rows = await db.select().from(appointmentReminders);
        const byAppointment = (id: string) =>
          rows
            .filter((r) => r.appointmentId === id)
            .map((r) => `${r.channel}/${r.leadMinutes}:${r.status}`)
            .sort();
        assert.equal(byAppointment(mine), [
          'email/1440:sent',
          'email/60:sent',
          'sms/1440:sent',
          'sms/60:skipped',
        ]);
        assert.ok(
          rows.filter((r) => r.appointmentId !== mine).every((r) => r.status === 'skipped'),
        );
        assert.equal(
          rows
            .filter((r) => r.appointmentId === unreachable)
            .map((r) => r.lastError)
            .sort(),
          [
            'patient has no e-mail address',
            'patient has no e-mail address',
            'patient has no mobile number',
            'patient has no mobile number',
          ],
        );
        assert.ok(rows.filter((r) => r.status === 'sent').every((r) => r.attempts === 1));
        assert.is(new Set(sms.attempts).size, sms.attempts.length, 'one request per reminder');
      } finally {
        for (const job of jobs) await job.stop();
      }
    },
  );

  t(
    'a failed send is retried with backoff, then given up after the last attempt',
    async ({ db, people, clock, smtp, sms, api, as, options, book }) => {
      as(people.patient.principal);
      await api.call('PUT', '/reminders/preferences', { email: true, sms: true });
      const id = await book(people.patient.principal, MONDAY_9);
      const job = startReminderJob(db, { now: () => clock.now, reminders: options });
      const reminder = async (channel: string, lead: number) =>
        (
          await db
            .select()
            .from(appointmentReminders)
            .where(eq(appointmentReminders.appointmentId, id))
        ).find((r) => r.channel === channel && r.leadMinutes === lead);
      try {
        smtp.state.rejectNext = 1;
        sms.state.failNext = 1;
        clock.now = MONDAY_9 - DAY;
        const failed = await job.runNow();
        assert.equal(failed, { sent: 0, retrying: 2, failed: 0, skipped: 0 });
        const email = await reminder('email', 1440);
        assert.is(email?.status, 'pending');
        assert.is(email?.attempts, 1);
        assert.is(email?.nextAttemptAt, clock.now + RETRY_BASE);
        assert.match(email?.lastError ?? '', /SMTP/);
        const text = await reminder('sms', 1440);
        assert.is(text?.lastError, 'SMS provider answered 503');
        for (const r of [email, text]) assert.not.match(r?.lastError ?? '', /@|\+31/, 'no PHI');

        assert.equal(await job.runNow(), { sent: 0, retrying: 0, failed: 0, skipped: 0 });
        clock.now += RETRY_BASE;
        assert.equal(await job.runNow(), { sent: 2, retrying: 0, failed: 0, skipped: 0 });
        assert.is(smtp.received.length, 1);
        assert.is(sms.delivered.length, 1);
        assert.is((await reminder('email', 1440))?.attempts, 2);
        assert.is((await reminder('sms', 1440))?.providerMessageId, 'SM1');

        // The SMS provider is down for good: three attempts (5 and 10 min apart), then failed.
        sms.state.failNext = 1_000;
        clock.now = MONDAY_9 - HOUR;
        assert.equal(await job.runNow(), { sent: 1, retrying: 1, failed: 0, skipped: 0 });
        clock.now += RETRY_BASE;
        assert.equal(await job.runNow(), { sent: 0, retrying: 1, failed: 0, skipped: 0 });
        clock.now += RETRY_BASE;
        assert.equal(
          await job.runNow(),
          { sent: 0, retrying: 0, failed: 0, skipped: 0 },
          'backoff doubled',
        );
        clock.now += RETRY_BASE;
        assert.equal(await job.runNow(), { sent: 0, retrying: 0, failed: 1, skipped: 0 });
        const gaveUp = await reminder('sms', 60);
        assert.is(gaveUp?.status, 'failed');
        assert.is(gaveUp?.attempts, 3);
        assert.is(gaveUp?.nextAttemptAt, null);
        const keys = sms.attempts.filter((k) => k === gaveUp?.id);
        assert.is(keys.length, 3, 'every attempt carries the reminder as its idempotency key');
        clock.now += DAY;
        assert.equal(await job.runNow(), { sent: 0, retrying: 0, failed: 0, skipped: 0 });
      } finally {
        await job.stop();
      }
    },
  );
}

test.run();
