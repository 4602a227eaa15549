// Sign-in end to end over HTTP (app.request, and a real server for the source address), on PGlite
// and PostgreSQL: MFA enrolment and recovery codes, lockout under brute force, HIPAA training,
// disabled accounts, idle and absolute session limits on a moved clock, logout and password change.
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authenticate } from '../src/auth/authenticate.ts';
import type { AuthEnv } from '../src/auth/hono-env.ts';
import { setUserDisabled } from '../src/auth/users.ts';
import { loginFailures, users } from '../src/db/schema.ts';
import { authKit, DAY, MINUTE, PASSWORD, sharedDatabases } from './support/auth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const databases = sharedDatabases();
test.after(() => databases.closeAll());

for (const target of testDatabaseTargets()) {
  const name = (what: string) => `${target.name}: ${what}`;

  test(
    name('staff: MFA enrolment at first login, MFA at every login, recovery codes once'),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db);
      const userId = await kit.addUser({ username: 'dr.ada', role: 'doctor' });

      const login = await kit.call('POST', '/api/auth/login', {
        body: { username: 'Dr.Ada', password: PASSWORD },
      });
      assert.is(login.status, 200);
      assert.is(login.body.mfaRequired, true);
      assert.is(login.body.mfaEnrolmentRequired, true);
      assert.match(login.body.token, /^[A-Za-z0-9_-]{43}$/);
      const pending = login.body.token;

      // A session waiting for MFA opens nothing but the MFA endpoints.
      const probe = await kit.call('GET', '/api/probe', { token: pending });
      assert.is(probe.status, 401);
      assert.is(probe.body.error.code, 'mfa-required');
      assert.match(
        probe.headers.get('www-authenticate') ?? '',
        /^Bearer realm="wardgate", error="invalid_token"/,
      );
      assert.is(
        (await kit.call('GET', '/api/auth/me', { token: pending })).body.error.code,
        'mfa-required',
      );
      const early = await kit.call('POST', '/api/auth/mfa', {
        token: pending,
        body: { code: '123456' },
      });
      assert.is(early.status, 409);
      assert.is(early.body.error.code, 'mfa-not-enrolled');

      const enrol = await kit.call('POST', '/api/auth/mfa/enrol', { token: pending });
      assert.is(enrol.status, 200);
      const secret: string = enrol.body.secret;
      assert.match(secret, /^[A-Z2-7]{32}$/);
      assert.is(
        enrol.body.otpauthUri,
        `otpauth://totp/wardgate:dr.ada?secret=${secret}&issuer=wardgate&algorithm=SHA1&digits=6&period=30`,
      );
      // The secret is sealed at rest, bound to its row.
      const [stored] = await database.db.select().from(users).where(eq(users.id, userId));
      assert.ok(stored.mfaSecret?.startsWith('wg1.'), 'sealed by the key ring');
      assert.not.ok(stored.mfaSecret?.includes(secret));

      const wrong = await kit.call('POST', '/api/auth/mfa/activate', {
        token: pending,
        body: { code: kit.code(secret, 3) },
      });
      assert.is(wrong.status, 401);
      assert.is(wrong.body.error.code, 'invalid-code');
      const activate = await kit.call('POST', '/api/auth/mfa/activate', {
        token: pending,
        body: { code: kit.code(secret) },
      });
      assert.is(activate.status, 200);
      const recoveryCodes: string[] = activate.body.recoveryCodes;
      assert.is(recoveryCodes.length, 10);
      for (const code of recoveryCodes) assert.match(code, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
      assert.is(new Set(recoveryCodes).size, 10);

      // The same session is now full.
      const full = await kit.call('GET', '/api/probe', { token: pending });
      assert.is(full.status, 200);
      assert.equal(full.body.principal, {
        kind: 'user',
        id: userId,
        username: 'dr.ada',
        role: 'doctor',
        sessionId: full.body.principal.sessionId,
        wards: [],
        patientId: null,
      });
      const again = await kit.call('POST', '/api/auth/mfa/enrol', { token: pending });
      assert.is(again.status, 409, 'an active secret is never replaced by a session alone');

      assert.is((await kit.call('POST', '/api/auth/logout', { token: pending })).status, 204);
      const after = await kit.call('GET', '/api/probe', { token: pending });
      assert.is(after.status, 401);
      assert.is(after.body.error.code, 'session-revoked');

      // Next login: MFA required, no enrolment; the code used at activation is not taken again.
      const second = await kit.call('POST', '/api/auth/login', {
        body: { username: 'dr.ada', password: PASSWORD },
      });
      assert.equal([second.body.mfaRequired, second.body.mfaEnrolmentRequired], [true, false]);
      const replay = await kit.call('POST', '/api/auth/mfa', {
        token: second.body.token,
        body: { code: kit.code(secret) },
      });
      assert.is(replay.status, 401, 'a TOTP code is accepted once');
      kit.advance(30_000);
      const mfa = await kit.call('POST', '/api/auth/mfa', {
        token: second.body.token,
        body: { code: kit.code(secret) },
      });
      assert.is(mfa.status, 200);
      assert.is((await kit.call('GET', '/api/probe', { token: second.body.token })).status, 200);
      const twice = await kit.call('POST', '/api/auth/mfa', {
        token: second.body.token,
        body: { code: kit.code(secret, 1) },
      });
      assert.is(twice.body.error.code, 'mfa-already-passed');

      // A recovery code instead of a TOTP code: good once.
      const third = await kit.call('POST', '/api/auth/login', {
        body: { username: 'dr.ada', password: PASSWORD },
      });
      const recovered = await kit.call('POST', '/api/auth/mfa', {
        token: third.body.token,
        body: { recoveryCode: recoveryCodes[0].toUpperCase() },
      });
      assert.is(recovered.status, 200);
      assert.is(recovered.body.recoveryCodesLeft, 9);
      const fourth = await kit.call('POST', '/api/auth/login', {
        body: { username: 'dr.ada', password: PASSWORD },
      });
      const reused = await kit.call('POST', '/api/auth/mfa', {
        token: fourth.body.token,
        body: { recoveryCode: recoveryCodes[0] },
      });
      assert.is(reused.status, 401);
      assert.is(reused.body.error.code, 'invalid-code');

      // New recovery codes (with a TOTP code) replace the old ones.
      kit.advance(30_000);
      const renewed = await kit.call('POST', '/api/auth/mfa/recovery-codes', {
        token: third.body.token,
        body: { code: kit.code(secret) },
      });
      assert.is(renewed.status, 200);
      assert.is(renewed.body.recoveryCodes.length, 10);
      const old = await kit.call('POST', '/api/auth/mfa', {
        token: fourth.body.token,
        body: { recoveryCode: recoveryCodes[1] },
      });
      assert.is(old.status, 401, 'old recovery codes stop working');
      const fresh = await kit.call('POST', '/api/auth/mfa', {
        token: fourth.body.token,
        body: { recoveryCode: renewed.body.recoveryCodes[0] },
      });
      assert.is(fresh.status, 200);

      // Audited: logins, MFA successes and failures, the logout; no secret in any entry.
      assert.is(kit.audited('login', 'success').length, 4);
      assert.is(kit.audited('mfa', 'failure').length, 4);
      assert.ok(kit.audited('mfa', 'success').some((e) => e.detail?.startsWith('enrolled')));
      assert.ok(kit.audited('mfa', 'success').some((e) => e.detail === 'recovery code (9 left)'));
      assert.is(kit.audited('logout').length, 1);
      const everything = JSON.stringify(kit.audit.entries);
      for (const secretText of [PASSWORD, secret, ...recoveryCodes, pending])
        assert.not.ok(everything.includes(secretText), 'no secret in the audit trail');
      for (const entry of kit.audit.entries) assert.is(entry.source?.userAgent, 'auth-test');
    },
  );

  test(name('patient: MFA optional, signs in with the password until enrolled'), async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    await kit.addUser({
      username: 'pat.lind',
      role: 'patient',
      patientId: 'p-17',
      trainingCompletedAt: null,
    });
    const login = await kit.call('POST', '/api/auth/login', {
      body: { username: 'pat.lind', password: PASSWORD },
    });
    assert.is(login.status, 200, 'patients need no HIPAA training');
    assert.is(login.body.mfaRequired, false);
    const probe = await kit.call('GET', '/api/probe', { token: login.body.token });
    assert.is(probe.body.principal.patientId, 'p-17');
    assert.is(probe.body.principal.role, 'patient');
    const me = await kit.call('GET', '/api/auth/me', { token: login.body.token });
    assert.is(me.body.user.username, 'pat.lind');
    assert.is(me.body.user.mfaEnabled, false);

    const enrol = await kit.call('POST', '/api/auth/mfa/enrol', { token: login.body.token });
    await kit.call('POST', '/api/auth/mfa/activate', {
      token: login.body.token,
      body: { code: kit.code(enrol.body.secret) },
    });
    const next = await kit.call('POST', '/api/auth/login', {
      body: { username: 'pat.lind', password: PASSWORD },
    });
    assert.is(next.body.mfaRequired, true, 'once enrolled, MFA at every login');
  });

  test(
    name(
      'brute force: 5 failures lock the account; the right password is refused until the window ends',
    ),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db);
      await kit.addUser({ username: 'nurse.bo', role: 'nurse', wards: ['ward-3'] });
      const attempt = (username: string, password: string) =>
        kit.call('POST', '/api/auth/login', { body: { username, password } });

      const answers = [];
      for (let i = 0; i < 5; i++) {
        answers.push(await attempt('nurse.bo', `Wrong-Guess-${i}0000`));
        kit.advance(MINUTE);
      }
      for (const a of answers) {
        assert.is(a.status, 401);
        assert.equal(a.body, {
          error: { code: 'invalid-credentials', message: 'wrong username or password' },
        });
      }
      const refused = await attempt('nurse.bo', PASSWORD);
      assert.is(refused.status, 423);
      assert.is(refused.body.error.code, 'locked');
      assert.is(kit.audited('lockout').length, 1);
      assert.match(kit.audited('lockout')[0].detail ?? '', /5 failures within 15 min/);

      // Locked for 15 minutes from the fifth failure (a minute ago).
      kit.advance(14 * MINUTE - 1000);
      assert.is((await attempt('nurse.bo', PASSWORD)).status, 423);
      kit.advance(2000);
      const ok = await attempt('nurse.bo', PASSWORD);
      assert.is(ok.status, 200);
      assert.is(ok.body.user.wards[0], 'ward-3');
      // Failures before the lockout do not count again.
      assert.is((await attempt('nurse.bo', 'Wrong-Guess-X0000')).status, 401);
      assert.is((await attempt('nurse.bo', PASSWORD)).status, 200);

      // An unknown username answers exactly the same, lockout included (no enumeration).
      for (let i = 0; i < 5; i++) {
        const unknown = await attempt('nobody.here', `Wrong-Guess-${i}0000`);
        assert.equal([unknown.status, unknown.body.error.code], [401, 'invalid-credentials']);
      }
      assert.is((await attempt('nobody.here', 'Wrong-Guess-50000')).status, 423);

      const failures = await database.db
        .select()
        .from(loginFailures)
        .where(eq(loginFailures.username, 'nurse.bo'));
      assert.is(failures.length, 8, 'every failure recorded, also those while locked');
      assert.ok(kit.audited('login', 'failure').some((e) => e.detail === 'unknown username'));
    },
  );

  test(name('wrong MFA codes count towards the lockout too'), async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    await kit.addUser({ username: 'dr.cy', role: 'doctor' });
    const { secret } = await kit.signInEnrolling('dr.cy');
    kit.advance(30_000);
    const login = await kit.call('POST', '/api/auth/login', {
      body: { username: 'dr.cy', password: PASSWORD },
    });
    const token = login.body.token;
    for (let i = 0; i < 5; i++) {
      const wrong = await kit.call('POST', '/api/auth/mfa', { token, body: { code: '000000' } });
      assert.is(wrong.status === 401 || wrong.status === 423, true);
    }
    assert.is(kit.audited('lockout').length, 1);
    // The waiting session was ended by the lockout; the password is refused while locked.
    const right = await kit.call('POST', '/api/auth/mfa', {
      token,
      body: { code: kit.code(secret) },
    });
    assert.is(right.status, 401);
    assert.is(right.body.error.code, 'session-revoked');
    const relogin = await kit.call('POST', '/api/auth/login', {
      body: { username: 'dr.cy', password: PASSWORD },
    });
    assert.is(relogin.status, 423);
  });

  test(
    name('HIPAA training: staff without it, or with it over a year old, cannot sign in'),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db);
      await kit.addUser({
        username: 'ph.expired',
        role: 'pharmacist',
        trainingCompletedAt: kit.clock.now - 366 * DAY,
      });
      await kit.addUser({ username: 'ph.never', role: 'pharmacist', trainingCompletedAt: null });
      await kit.addUser({
        username: 'ph.current',
        role: 'pharmacist',
        trainingCompletedAt: kit.clock.now - 364 * DAY,
      });
      const login = (username: string) =>
        kit.call('POST', '/api/auth/login', { body: { username, password: PASSWORD } });
      const expired = await login('ph.expired');
      assert.is(expired.status, 403);
      assert.is(expired.body.error.code, 'training-expired');
      assert.match(expired.body.error.message, /expired \(completed 2025-/);
      const never = await login('ph.never');
      assert.is(never.status, 403);
      assert.is(never.body.error.code, 'training-expired');
      assert.is((await login('ph.current')).status, 200);
      // Only after the right password: a wrong one says nothing about training.
      const wrong = await kit.call('POST', '/api/auth/login', {
        body: { username: 'ph.expired', password: 'Wrong-Guess-00000' },
      });
      assert.is(wrong.body.error.code, 'invalid-credentials');
      assert.is(kit.audited('login', 'denied').length, 2);
    },
  );

  test(name('a disabled user cannot sign in, and their live sessions stop at once'), async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    const id = await kit.addUser({ username: 'pat.gone', role: 'patient', patientId: 'p-2' });
    const login = await kit.call('POST', '/api/auth/login', {
      body: { username: 'pat.gone', password: PASSWORD },
    });
    assert.is((await kit.call('GET', '/api/probe', { token: login.body.token })).status, 200);
    await setUserDisabled(database.db, id, true, kit.clock.now);
    assert.is((await kit.call('GET', '/api/probe', { token: login.body.token })).status, 401);
    const refused = await kit.call('POST', '/api/auth/login', {
      body: { username: 'pat.gone', password: PASSWORD },
    });
    assert.is(refused.status, 403);
    assert.is(refused.body.error.code, 'account-disabled');
  });

  test(
    name('sessions end after 15 idle minutes and at the absolute limit; MFA must come soon'),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db, { session: { absoluteMs: 60 * MINUTE } });
      await kit.addUser({ username: 'pat.idle', role: 'patient', patientId: 'p-3' });
      await kit.addUser({ username: 'dr.slow', role: 'doctor' });
      const login = () =>
        kit.call('POST', '/api/auth/login', { body: { username: 'pat.idle', password: PASSWORD } });

      // Idle: requests 14 minutes apart keep it alive; 15 minutes of silence end it.
      const idle = (await login()).body.token;
      kit.advance(14 * MINUTE);
      assert.is((await kit.call('GET', '/api/probe', { token: idle })).status, 200);
      kit.advance(14 * MINUTE);
      assert.is((await kit.call('GET', '/api/probe', { token: idle })).status, 200);
      kit.advance(15 * MINUTE);
      const expired = await kit.call('GET', '/api/probe', { token: idle });
      assert.is(expired.status, 401);
      assert.is(expired.body.error.code, 'session-expired');
      assert.is(
        (await kit.call('GET', '/api/probe', { token: idle })).body.error.code,
        'session-expired',
      );
      assert.is(kit.audited('session-expired').length, 1, 'the expiry is audited once');
      assert.is(kit.audited('session-expired')[0].detail, 'idle limit');

      // Absolute: busy all along, still ends 60 minutes (here) after sign-in.
      const busy = (await login()).body.token;
      for (let i = 0; i < 5; i++) {
        kit.advance(10 * MINUTE);
        assert.is((await kit.call('GET', '/api/probe', { token: busy })).status, 200);
      }
      kit.advance(10 * MINUTE);
      const ended = await kit.call('GET', '/api/auth/me', { token: busy });
      assert.is(ended.status, 401);
      assert.is(ended.body.error.code, 'session-expired');
      assert.is(kit.audited('session-expired')[1].detail, 'absolute limit');

      // The MFA step has 10 minutes.
      const pending = await kit.call('POST', '/api/auth/login', {
        body: { username: 'dr.slow', password: PASSWORD },
      });
      kit.advance(10 * MINUTE);
      const late = await kit.call('POST', '/api/auth/mfa/enrol', { token: pending.body.token });
      assert.is(late.status, 401);
      assert.is(late.body.error.code, 'session-expired');
    },
  );

  test(name('password change: current password, strength rules, other sessions end'), async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    await kit.addUser({ username: 'pat.pw', role: 'patient', patientId: 'p-4' });
    const login = () =>
      kit.call('POST', '/api/auth/login', { body: { username: 'pat.pw', password: PASSWORD } });
    const mine = (await login()).body.token;
    const other = (await login()).body.token;
    const change = (body: unknown) => kit.call('POST', '/api/auth/password', { token: mine, body });

    const wrong = await change({
      currentPassword: 'Not-The-Password-1',
      newPassword: 'Violin-Candle-8841',
    });
    assert.is(wrong.status, 401);
    const weak = await change({ currentPassword: PASSWORD, newPassword: 'pat.pw-short' });
    assert.is(weak.status, 400);
    assert.is(weak.body.error.code, 'weak-password');
    assert.match(weak.body.error.message, /must not contain the username/);
    const ok = await change({ currentPassword: PASSWORD, newPassword: 'Violin-Candle-8841' });
    assert.is(ok.status, 200);
    assert.is(ok.body.otherSessionsEnded, 1);
    assert.is((await kit.call('GET', '/api/probe', { token: mine })).status, 200);
    assert.is(
      (await kit.call('GET', '/api/probe', { token: other })).body.error.code,
      'session-revoked',
    );
    assert.is((await login()).status, 401, 'the old password is gone');
    const fresh = await kit.call('POST', '/api/auth/login', {
      body: { username: 'pat.pw', password: 'Violin-Candle-8841' },
    });
    assert.is(fresh.status, 200);
  });

  test(
    name("authenticate answers in the caller's shape when given a renderer (FHIR)"),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db);
      const fhir = new Hono<AuthEnv>();
      fhir.use(
        '*',
        authenticate(database.db, {
          audit: kit.audit,
          onError: (c, status, code, message) =>
            c.json(
              {
                resourceType: 'OperationOutcome',
                issue: [
                  {
                    severity: 'error',
                    code: 'login',
                    details: { text: message },
                    diagnostics: code,
                  },
                ],
              },
              status,
            ),
        }),
      );
      fhir.get('/Patient/p1', (c) => c.json({ resourceType: 'Patient', id: 'p1' }));
      const response = await fhir.request('/Patient/p1', {
        headers: { authorization: 'Bearer nope' },
      });
      assert.is(response.status, 401);
      assert.match(
        response.headers.get('www-authenticate') ?? '',
        /^Bearer realm="wardgate", error="invalid_token"/,
      );
      const outcome = await response.json();
      assert.is(outcome.resourceType, 'OperationOutcome');
      assert.is(outcome.issue[0].diagnostics, 'invalid-token');
    },
  );

  test(name('bad requests: missing token, malformed bodies'), async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    const none = await kit.call('GET', '/api/probe');
    assert.is(none.status, 401);
    assert.is(none.body.error.code, 'missing-token');
    assert.is(none.headers.get('www-authenticate'), 'Bearer realm="wardgate"');
    const bogus = await kit.call('GET', '/api/probe', { token: 'bm90LWEtdG9rZW4' });
    assert.is(bogus.body.error.code, 'invalid-token');
    const notJson = await kit.call('POST', '/api/auth/login', { body: 'username=a' });
    assert.is(notJson.status, 400);
    assert.is(notJson.body.error.code, 'invalid_body');
    const missing = await kit.call('POST', '/api/auth/login', { body: { username: 'x' } });
    assert.is(missing.status, 400);
    assert.match(missing.body.error.message, /password/);
    const both = await kit.call('POST', '/api/auth/mfa', { token: 'x', body: {} });
    assert.is(both.status, 401, 'the session is checked before the body');
  });
}

test('over a real socket: the peer address is audited; unknown user and wrong password take alike', async () => {
  const [target] = testDatabaseTargets();
  const database = await target.open();
  const kit = await authKit(database.db);
  const server = createAdaptorServer({ fetch: kit.app.fetch });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await kit.addUser({ username: 'pat.net', role: 'patient', patientId: 'p-5' });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/auth/login`;
    const post = async (username: string, password: string) => {
      const started = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'socket-test' },
        body: JSON.stringify({ username, password }),
      });
      await response.text();
      return { status: response.status, ms: performance.now() - started };
    };
    assert.is((await post('pat.net', PASSWORD)).status, 200);
    const success = kit.audited('login', 'success')[0];
    assert.equal(success.source, { ip: '127.0.0.1', userAgent: 'socket-test' });

    // Both answers cost one Argon2id verify: the unknown user is checked against a dummy hash.
    await post('nobody.net', 'Wrong-Guess-00000'); // the dummy hash is made once, first
    const wrongPassword = [];
    const unknownUser = [];
    for (let i = 0; i < 2; i++) {
      wrongPassword.push((await post('pat.net', `Wrong-Guess-${i}1111`)).ms);
      unknownUser.push((await post(`nobody${i}`, `Wrong-Guess-${i}1111`)).ms);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ratio = mean(unknownUser) / mean(wrongPassword);
    assert.ok(ratio > 0.5 && ratio < 2, `unknown/wrong time ratio ${ratio.toFixed(2)}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
  }
});

test.run();
