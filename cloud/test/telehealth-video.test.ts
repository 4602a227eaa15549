// Video visits against a running cloud (startCloud) with real ws clients: the room token's
// rules, the waiting room and admission, signaling relayed only between the two participants,
// the sealed chat transcript, recording only after the patient's recorded consent, the end.
import { and, eq } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSealed } from '../src/crypto/key-ring.ts';
import type { Database } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { type Cloud, startCloud } from '../src/server.ts';
import { setAppointmentStatus } from '../src/telehealth/appointments/status.ts';
import { loadVisit } from '../src/telehealth/appointments/visit.ts';
import { videoChatMessages, videoRoomEvents } from '../src/telehealth/video/schema.ts';
import { loadSession } from '../src/telehealth/video/session.ts';
import type { Json } from './support/auth.ts';
import {
  insertAppointment,
  seedTelehealth,
  TELEHEALTH_PASSWORD,
  type TelehealthPeople,
} from './support/telehealth.ts';
import { type TestDatabaseTarget, testDatabaseTargets } from './support/test-database.ts';
import { SignalClient, signInToCloud } from './support/video-visit.ts';

const MINUTE = 60_000;
const ICE = [{ urls: 'stun:stun.example.org:3478' }];

interface Setup {
  cloud: Cloud;
  db: Database['db'];
  clock: { now: number };
  people: TelehealthPeople;
  sessions: { doctor: string; patient: string; otherDoctor: string; otherPatient: string };
}

const setups = new Map<TestDatabaseTarget, Promise<Setup>>();

function setupOf(target: TestDatabaseTarget): Promise<Setup> {
  let setup = setups.get(target);
  if (!setup) {
    setup = (async () => {
      const database = await target.open();
      const clock = { now: Date.now() };
      const people = await seedTelehealth(database.db, clock.now, 'vid');
      const cloud = await startCloud({
        database,
        httpPort: 0,
        mqttPort: 0,
        app: { telehealth: { now: () => clock.now, video: { iceServers: ICE } } },
      });
      const signIn = (username: string) =>
        signInToCloud(cloud.httpUrl, username, TELEHEALTH_PASSWORD);
      const sessions = {
        doctor: await signIn(people.doctor.username),
        patient: await signIn(people.patient.username),
        otherDoctor: await signIn(people.otherDoctor.username),
        otherPatient: await signIn(people.otherPatient.username),
      };
      return { cloud, db: database.db, clock, people, sessions };
    })();
    setups.set(target, setup);
  }
  return setup;
}

test.after(async () => {
  for (const setup of setups.values()) await (await setup).cloud.stop();
});

async function call(s: Setup, method: string, path: string, session: string) {
  const res = await fetch(`${s.cloud.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${session}` },
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const tokenPath = (id: string) => `/api/telehealth/appointments/${id}/video/token`;

async function roomToken(s: Setup, id: string, session: string): Promise<Json> {
  const res = await call(s, 'POST', tokenPath(id), session);
  assert.is(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

function signalUrl(s: Setup, token: string) {
  return `${s.cloud.httpUrl.replace(/^http/, 'ws')}/api/telehealth/signal?token=${encodeURIComponent(token)}`;
}

async function join(s: Setup, id: string, session: string): Promise<SignalClient> {
  const { token } = await roomToken(s, id, session);
  const client = await SignalClient.open(signalUrl(s, token));
  await client.next('hello');
  return client;
}

async function refusedWith(promise: Promise<unknown>): Promise<{ status: number; body: Json }> {
  try {
    await promise;
  } catch (error) {
    return error as { status: number; body: Json };
  }
  throw new Error('expected the connection to be refused');
}

/** An appointment starting in 5 minutes: its room is open. */
const openAppointment = (s: Setup) =>
  insertAppointment(s.db, s.people, { startAt: s.clock.now + 5 * MINUTE }, s.clock.now);

async function eventKinds(s: Setup, id: string): Promise<string[]> {
  const rows = await s.db
    .select()
    .from(videoRoomEvents)
    .where(eq(videoRoomEvents.appointmentId, id))
    .orderBy(videoRoomEvents.id);
  return rows.map((r) => `${r.role}:${r.kind}`);
}

/** Both sides in, the patient admitted. */
async function admittedCall(s: Setup, id: string) {
  const patient = await join(s, id, s.sessions.patient);
  await patient.next('waiting');
  const doctor = await join(s, id, s.sessions.doctor);
  await doctor.next('patient-waiting');
  doctor.send({ type: 'admit' });
  assert.equal(await doctor.next('admitted'), { type: 'admitted', initiator: true });
  assert.equal(await patient.next('admitted'), { type: 'admitted', initiator: false });
  return { patient, doctor };
}

test('the visit page: served outside /api with a policy that lets only its own script run', async () => {
  const s = await setupOf(testDatabaseTargets()[0]);
  const page = await fetch(`${s.cloud.httpUrl}/telehealth/visit/some-appointment`);
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(await page.text(), /src="\/telehealth\/visit.js"/);
  const script = await fetch(`${s.cloud.httpUrl}/telehealth/visit.js`);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.match(await script.text(), /RTCPeerConnection/);
  // Everything else keeps the cloud's own policy.
  const health = await fetch(`${s.cloud.httpUrl}/health`);
  assert.match(health.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  assert.not.match(health.headers.get('content-security-policy') ?? '', /script-src/);
});

for (const target of testDatabaseTargets()) {
  test(`room token: participants only, from 15 minutes before the start, not when cancelled (${target.name})`, async () => {
    const s = await setupOf(target);
    const id = await openAppointment(s);
    const patient = await roomToken(s, id, s.sessions.patient);
    assert.is(patient.role, 'patient');
    assert.equal(patient.iceServers, ICE);
    assert.is(patient.signalingPath, '/api/telehealth/signal');
    assert.ok(Date.parse(patient.expiresAt) - s.clock.now <= 2 * MINUTE);
    assert.is((await roomToken(s, id, s.sessions.doctor)).role, 'host');

    for (const stranger of [s.sessions.otherDoctor, s.sessions.otherPatient]) {
      const refused = await call(s, 'POST', tokenPath(id), stranger);
      assert.is(refused.status, 403);
      assert.is(refused.body.error.code, 'forbidden');
    }
    const denied = await s.db
      .select()
      .from(auditLog)
      .where(
        and(eq(auditLog.actorId, s.people.otherDoctor.principal.id), eq(auditLog.action, 'denied')),
      );
    assert.ok(denied.some((row) => row.patientIds.includes(s.people.patient.patientId)));

    const later = await insertAppointment(
      s.db,
      s.people,
      { startAt: s.clock.now + 16 * MINUTE },
      s.clock.now,
    );
    const early = await call(s, 'POST', tokenPath(later), s.sessions.patient);
    assert.is(early.status, 409);
    assert.is(early.body.error.code, 'too_early');
    assert.match(early.body.error.message, /15 minutes before the start/);
    s.clock.now += 2 * MINUTE;
    assert.is((await roomToken(s, later, s.sessions.patient)).role, 'patient');
    s.clock.now -= 2 * MINUTE;

    const cancelled = await insertAppointment(
      s.db,
      s.people,
      { startAt: s.clock.now + 5 * MINUTE, status: 'cancelled' },
      s.clock.now,
    );
    const refused = await call(s, 'POST', tokenPath(cancelled), s.sessions.doctor);
    assert.is(refused.status, 409);
    assert.is(refused.body.error.code, 'appointment_cancelled');

    const past = await insertAppointment(
      s.db,
      s.people,
      { startAt: s.clock.now - 3 * 60 * MINUTE },
      s.clock.now,
    );
    assert.is(
      (await call(s, 'POST', tokenPath(past), s.sessions.doctor)).body.error.code,
      'visit_over',
    );
  });

  test(`signaling socket: a token opens one connection, expires, and is refused from a foreign page (${target.name})`, async () => {
    const s = await setupOf(target);
    const id = await openAppointment(s);
    const bad = await refusedWith(SignalClient.open(signalUrl(s, 'nonsense.token')));
    assert.is(bad.status, 401);
    assert.is(bad.body.error.code, 'bad_room_token');

    const { token } = await roomToken(s, id, s.sessions.patient);
    const foreign = await refusedWith(
      SignalClient.open(signalUrl(s, token), { origin: 'https://evil.example' }),
    );
    assert.is(foreign.status, 403);
    const own = await SignalClient.open(signalUrl(s, token), { origin: s.cloud.httpUrl });
    await own.next('hello');
    const again = await refusedWith(SignalClient.open(signalUrl(s, token)));
    assert.is(again.status, 401);
    assert.match(again.body.error.message, /used/);
    await own.close();

    // Cancelled between the token and the connection: no room.
    const doomed = await openAppointment(s);
    const issued = await roomToken(s, doomed, s.sessions.patient);
    await setAppointmentStatus(s.db, doomed, 'cancelled', s.clock.now);
    const gone = await refusedWith(SignalClient.open(signalUrl(s, issued.token)));
    assert.is(gone.status, 409);
    assert.is(gone.body.error.code, 'appointment_cancelled');

    const stale = await roomToken(s, id, s.sessions.patient);
    s.clock.now += 2 * MINUTE + 1;
    try {
      const expired = await refusedWith(SignalClient.open(signalUrl(s, stale.token)));
      assert.is(expired.status, 401);
      assert.match(expired.body.error.message, /expired/);
    } finally {
      s.clock.now -= 2 * MINUTE + 1;
    }
  });

  test(`waiting room: the host admits the patient, the visit starts, signals reach only the other side (${target.name})`, async () => {
    const s = await setupOf(target);
    const id = await openAppointment(s);
    const patient = await join(s, id, s.sessions.patient);
    assert.equal(await patient.next('waiting'), { type: 'waiting' });
    // Nothing passes before admission, and only the host admits.
    patient.send({ type: 'signal', data: { candidate: null } });
    assert.is((await patient.next('error')).code, 'not_admitted');
    patient.send({ type: 'admit' });
    assert.is((await patient.next('error')).code, 'not_allowed');

    const doctor = await join(s, id, s.sessions.doctor);
    await doctor.next('patient-waiting');
    assert.is((await loadVisit(s.db, id))?.status, 'scheduled');
    doctor.send({ type: 'admit' });
    assert.equal(await doctor.next('admitted'), { type: 'admitted', initiator: true });
    assert.equal(await patient.next('admitted'), { type: 'admitted', initiator: false });
    assert.is((await loadVisit(s.db, id))?.status, 'in-progress');

    const offer = { description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } };
    doctor.send({ type: 'signal', data: offer });
    assert.equal((await patient.next('signal')).data, offer);
    const candidate = {
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0' },
    };
    patient.send({ type: 'signal', data: candidate });
    assert.equal((await doctor.next('signal')).data, candidate);
    doctor.send({ type: 'signal', data: { description: { type: 'pranswer' } } });
    assert.is((await doctor.next('error')).code, 'bad_signal');
    // The sender never gets its own signal back.
    assert.is(doctor.all('signal').length, 1);
    assert.is(patient.all('signal').length, 1);

    // A second room is separate: its participants hear nothing of this one.
    const other = await openAppointment(s);
    const elsewhere = await join(s, other, s.sessions.patient);
    await elsewhere.next('waiting');
    doctor.send({ type: 'signal', data: offer });
    await patient.next('signal');
    assert.is(elsewhere.all('signal').length, 0);

    assert.equal(await eventKinds(s, id), [
      'patient:joined',
      'patient:waiting',
      'host:joined',
      'host:admitted',
    ]);
    const audited = await s.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.actorId, s.people.doctor.principal.id));
    const details = audited
      .filter((row) => row.patientIds.includes(s.people.patient.patientId))
      .map((row) => `${row.action}:${JSON.stringify(row.event).includes('admitted the patient')}`);
    assert.ok(details.includes('update:true'), 'the admission is audited');
    assert.ok(details.includes('read:false'), 'the join is audited');

    // The host leaves mid-call: the patient goes back to the waiting room.
    await doctor.close();
    assert.equal(await patient.next('peer-left'), { type: 'peer-left', role: 'host' });
    await patient.next('waiting');
    // Never ended: the session runs to the last one leaving.
    const session = await loadSession(s.db, id);
    const left = (
      await s.db.select().from(videoRoomEvents).where(eq(videoRoomEvents.appointmentId, id))
    )
      .filter((e) => e.kind === 'left')
      .at(-1);
    assert.is(session?.endedAt, left?.at);
    for (const c of [patient, elsewhere]) await c.close();
  });

  test(`a second connection of the same participant replaces the first (${target.name})`, async () => {
    const s = await setupOf(target);
    const id = await openAppointment(s);
    const { patient, doctor } = await admittedCall(s, id);
    const again = await join(s, id, s.sessions.patient);
    assert.is((await patient.waitClosed()).code, 4001);
    assert.equal(await doctor.next('peer-left'), { type: 'peer-left', role: 'patient' });
    await doctor.next('patient-waiting');
    await again.next('waiting');
    doctor.send({ type: 'admit' });
    await again.next('admitted');
    for (const c of [again, doctor]) await c.close();
  });

  test(`chat: relayed to both sides, stored sealed, transcript for participants only (${target.name})`, async () => {
    const s = await setupOf(target);
    const id = await openAppointment(s);
    const { patient, doctor } = await admittedCall(s, id);
    patient.send({ type: 'chat', body: '  My knee still hurts when I climb stairs  ' });
    const atDoctor = (await doctor.next('chat')).message;
    const atPatient = (await patient.next('chat')).message;
    assert.equal(atDoctor, atPatient);
    assert.is(atDoctor.body, 'My knee still hurts when I climb stairs');
    assert.is(atDoctor.senderRole, 'patient');
    doctor.send({ type: 'chat', body: 'Thanks, we will look at it now.' });
    await patient.next('chat');
    doctor.send({ type: 'chat', body: '   ' });
    assert.is((await doctor.next('error')).code, 'bad_chat');

    const rows = await s.db
      .select()
      .from(videoChatMessages)
      .where(eq(videoChatMessages.appointmentId, id));
    assert.is(rows.length, 2);
    for (const row of rows) {
      assert.ok(isSealed(row.body), 'stored sealed');
      assert.not.match(row.body, /knee|Thanks/);
    }

    const transcript = await call(
      s,
      'GET',
      `/api/telehealth/appointments/${id}/video/chat`,
      s.sessions.doctor,
    );
    assert.is(transcript.status, 200);
    assert.equal(
      transcript.body.messages.map((m: Json) => [m.senderRole, m.body]),
      [
        ['patient', 'My knee still hurts when I climb stairs'],
        ['host', 'Thanks, we will look at it now.'],
      ],
    );
    for (const stranger of [s.sessions.otherDoctor, s.sessions.otherPatient]) {
      const refused = await call(
        s,
        'GET',
        `/api/telehealth/appointments/${id}/video/chat`,
        stranger,
      );
      assert.is(refused.status, 403);
    }
    for (const c of [patient, doctor]) await c.close();
  });

  test(`recording: refused until the patient consents, then started and stopped on record (${target.name})`, async () => {
    const s = await setupOf(target);
    const id = await openAppointment(s);
    const { patient, doctor } = await admittedCall(s, id);
    doctor.send({ type: 'recording', state: 'started' });
    assert.is((await doctor.next('error')).code, 'consent_required');
    assert.is(patient.all('recording').length, 0);
    doctor.send({ type: 'recording-consent' });
    assert.is((await doctor.next('error')).code, 'not_allowed');

    patient.send({ type: 'recording-consent' });
    await doctor.next('recording-consent');
    doctor.send({ type: 'recording', state: 'started' });
    assert.equal(await patient.next('recording'), { type: 'recording', state: 'started' });
    doctor.send({ type: 'recording', state: 'stopped' });
    assert.equal(await patient.next('recording'), { type: 'recording', state: 'stopped' });
    const kinds = await eventKinds(s, id);
    assert.equal(kinds.slice(-3), [
      'patient:recording-consent',
      'host:recording-started',
      'host:recording-stopped',
    ]);
    for (const c of [patient, doctor]) await c.close();
  });

  test(`end: the host ends the visit, both are told and disconnected, the appointment is completed (${target.name})`, async () => {
    const s = await setupOf(target);
    const id = await openAppointment(s);
    const { patient, doctor } = await admittedCall(s, id);
    patient.send({ type: 'end' });
    assert.is((await patient.next('error')).code, 'not_allowed');
    s.clock.now += 20 * MINUTE;
    try {
      doctor.send({ type: 'end' });
      await doctor.next('ended');
      await patient.next('ended');
      await Promise.all([doctor.waitClosed(), patient.waitClosed()]);
      assert.is((await loadVisit(s.db, id))?.status, 'completed');
      const session = await loadSession(s.db, id);
      assert.ok(session);
      assert.is((session.endedAt as number) - session.startedAt, 20 * MINUTE);
      const again = await call(s, 'POST', tokenPath(id), s.sessions.patient);
      assert.is(again.status, 409);
      assert.is(again.body.error.code, 'appointment_completed');
      const events = await call(
        s,
        'GET',
        `/api/telehealth/appointments/${id}/video/events`,
        s.sessions.patient,
      );
      assert.ok(events.body.events.some((e: Json) => e.kind === 'ended' && e.role === 'host'));
    } finally {
      s.clock.now -= 20 * MINUTE;
    }
  });
}

test.run();
