// The administration API on PGlite and PostgreSQL: only administrators, every change audited;
// users, lockout, MFA reset, session revocation, care assignments and API clients.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AuthKit, authKit, DAY, PASSWORD, sharedDatabases } from './support/auth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

let admins = 0;
/** A new administrator's full session. */
async function adminSession(kit: AuthKit): Promise<string> {
  const username = `admin.${++admins}`;
  await kit.addUser({ username, role: 'administrator' });
  return (await kit.signInEnrolling(username)).token;
}

const databases = sharedDatabases();
test.after(() => databases.closeAll());

for (const target of testDatabaseTargets()) {
  const name = (what: string) => `${target.name}: ${what}`;

  test(
    name('only a signed-in administrator reaches /api/admin; everybody else is refused'),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db);
      await kit.addUser({ username: 'dr.nope', role: 'doctor' });
      await kit.addUser({ username: 'admin.pending', role: 'administrator' });
      const doctor = (await kit.signInEnrolling('dr.nope')).token;
      const pendingAdmin = (
        await kit.call('POST', '/api/auth/login', {
          body: { username: 'admin.pending', password: PASSWORD },
        })
      ).body.token;

      const attempts: [string, string][] = [
        ['GET', '/api/admin/users'],
        ['POST', '/api/admin/users'],
        ['PATCH', '/api/admin/users/x'],
        ['POST', '/api/admin/users/x/disable'],
        ['POST', '/api/admin/users/x/patients/p-1'],
        ['GET', '/api/admin/clients'],
        ['POST', '/api/admin/clients'],
      ];
      for (const [method, path] of attempts) {
        const anonymous = await kit.call(method, path, { body: {} });
        assert.is(anonymous.status, 401, `${method} ${path} without a token`);
        const asDoctor = await kit.call(method, path, { token: doctor, body: {} });
        assert.is(asDoctor.status, 403, `${method} ${path} as a doctor`);
        assert.is(asDoctor.body.error.code, 'forbidden');
        const beforeMfa = await kit.call(method, path, { token: pendingAdmin, body: {} });
        assert.is(beforeMfa.body.error.code, 'mfa-required', `${method} ${path} before MFA`);
      }
      assert.is(kit.audited('denied').length, attempts.length, 'each refusal audited');
      assert.is(kit.audited('denied')[0].actor.kind, 'user');
    },
  );

  test(
    name('users: create with the rules, list without secrets, update, disable, enable'),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db);
      const admin = await adminSession(kit);
      const create = (body: unknown) =>
        kit.call('POST', '/api/admin/users', { token: admin, body });

      const weak = await create({ username: 'nurse.eve', role: 'nurse', password: 'nurse.eve1' });
      assert.is(weak.status, 400);
      assert.is(weak.body.error.code, 'weak-password');
      assert.match(weak.body.error.message, /at least 12 characters.*username/);
      const badRole = await create({ username: 'x.y', role: 'surgeon', password: PASSWORD });
      assert.is(badRole.status, 400);
      const wardsForDoctor = await create({
        username: 'dr.w',
        role: 'doctor',
        password: PASSWORD,
        wards: ['w1'],
      });
      assert.is(wardsForDoctor.body.error.code, 'invalid-wards');
      const patientWithoutId = await create({
        username: 'pat.x',
        role: 'patient',
        password: PASSWORD,
      });
      assert.is(patientWithoutId.body.error.code, 'invalid-patient-id');

      const nurse = await create({
        username: 'Nurse.Eve',
        role: 'nurse',
        password: PASSWORD,
        wards: ['ward-1', 'ward-2'],
        trainingCompletedAt: '2026-01-15',
      });
      assert.is(nurse.status, 201);
      assert.equal(
        {
          username: nurse.body.user.username,
          role: nurse.body.user.role,
          wards: nurse.body.user.wards,
          training: nurse.body.user.trainingCompletedAt,
          mfa: nurse.body.user.mfaEnabled,
        },
        {
          username: 'nurse.eve',
          role: 'nurse',
          wards: ['ward-1', 'ward-2'],
          training: '2026-01-15T00:00:00.000Z',
          mfa: false,
        },
      );
      const id = nurse.body.user.id;
      const duplicate = await create({ username: 'nurse.eve', role: 'nurse', password: PASSWORD });
      assert.is(duplicate.status, 409);

      const list = await kit.call('GET', '/api/admin/users', { token: admin });
      const names = list.body.users.map((u: { username: string }) => u.username);
      assert.ok(names.includes('nurse.eve'));
      assert.equal(names, [...names].sort(), 'by username');
      const text = JSON.stringify(list.body);
      for (const secretish of ['passwordHash', 'password_hash', 'mfaSecret', '$argon2id', 'wg1.'])
        assert.not.ok(text.includes(secretish), `no ${secretish} in the list`);
      const one = await kit.call('GET', `/api/admin/users/${id}`, { token: admin });
      assert.is(one.body.user.username, 'nurse.eve');
      assert.is((await kit.call('GET', '/api/admin/users/nobody', { token: admin })).status, 404);

      const patch = await kit.call('PATCH', `/api/admin/users/${id}`, {
        token: admin,
        body: { wards: ['ward-3'], trainingCompletedAt: '2026-02-01T09:30:00Z' },
      });
      assert.is(patch.status, 200);
      assert.equal(patch.body.user.wards, ['ward-3']);
      const promoted = await kit.call('PATCH', `/api/admin/users/${id}`, {
        token: admin,
        body: { role: 'doctor' },
      });
      assert.is(promoted.body.user.role, 'doctor');
      assert.equal(promoted.body.user.wards, [], 'a doctor has no wards');
      const future = await kit.call('PATCH', `/api/admin/users/${id}`, {
        token: admin,
        body: { trainingCompletedAt: '2030-01-01' },
      });
      assert.is(future.body.error.code, 'invalid-training-date');

      // Disable: the user's session dies on the next request, and login is refused.
      const session = (await kit.signInEnrolling('nurse.eve')).token;
      assert.is(
        (await kit.call('GET', '/api/probe', { token: session })).body.principal.role,
        'doctor',
      );
      const disabled = await kit.call('POST', `/api/admin/users/${id}/disable`, { token: admin });
      assert.is(disabled.body.user.disabled, true);
      assert.is((await kit.call('GET', '/api/probe', { token: session })).status, 401);
      const login = () =>
        kit.call('POST', '/api/auth/login', {
          body: { username: 'nurse.eve', password: PASSWORD },
        });
      assert.is((await login()).body.error.code, 'account-disabled');
      const me = await kit.call('GET', '/api/auth/me', { token: admin });
      const adminId = me.body.user.id;
      const selfDisable = await kit.call('POST', `/api/admin/users/${adminId}/disable`, {
        token: admin,
      });
      assert.is(selfDisable.status, 409);
      await kit.call('POST', `/api/admin/users/${id}/enable`, { token: admin });
      assert.is((await login()).status, 200);

      const details = kit.audited('admin', 'success').map((e) => e.detail);
      assert.ok(
        details.includes('created nurse.eve (nurse; wards ward-1,ward-2)'),
        details.join(' | '),
      );
      assert.ok(
        details.includes(
          'updated nurse.eve: wards [ward-1,ward-2] -> [ward-3]; training completed 2026-02-01',
        ),
      );
      assert.ok(details.includes('updated nurse.eve: role nurse -> doctor; wards [ward-3] -> []'));
      assert.ok(details.includes('disabled nurse.eve; sessions ended'));
      assert.ok(details.includes('enabled nurse.eve'));
      for (const entry of kit.audited('admin')) assert.equal(entry.actor.kind, 'user');
      assert.not.ok(JSON.stringify(kit.audit.entries).includes(PASSWORD));
    },
  );

  test(name('unlock, MFA reset and session revocation take effect at once'), async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    const admin = await adminSession(kit);
    const id = await kit.addUser({ username: 'lab.tom', role: 'lab-technician' });
    const session = (await kit.signInEnrolling('lab.tom')).token;

    const revoke = await kit.call('POST', `/api/admin/users/${id}/revoke-sessions`, {
      token: admin,
    });
    assert.is(revoke.body.revoked, 1);
    assert.is(
      (await kit.call('GET', '/api/probe', { token: session })).body.error.code,
      'session-revoked',
    );

    const login = (password = PASSWORD) =>
      kit.call('POST', '/api/auth/login', { body: { username: 'lab.tom', password } });
    kit.advance(1000);
    for (let i = 0; i < 5; i++) await login(`Wrong-Guess-${i}0000`);
    assert.is((await login()).status, 423);
    const listed = await kit.call('GET', `/api/admin/users/${id}`, { token: admin });
    assert.type(listed.body.user.lockedUntil, 'string');
    await kit.call('POST', `/api/admin/users/${id}/unlock`, { token: admin });
    const unlocked = await login();
    assert.is(unlocked.status, 200);
    assert.is(unlocked.body.mfaEnrolmentRequired, false);
    // Failures before the unlock do not count again: one more wrong password does not re-lock.
    assert.is((await login('Wrong-Guess-90000')).status, 401);
    assert.is((await login()).status, 200);

    // MFA reset (lost phone): sessions end, the next login enrols again.
    const reset = await kit.call('POST', `/api/admin/users/${id}/reset-mfa`, { token: admin });
    assert.is(reset.body.user.mfaEnabled, false);
    assert.is((await kit.call('GET', '/api/probe', { token: unlocked.body.token })).status, 401);
    assert.is((await login()).body.mfaEnrolmentRequired, true);

    const details = kit.audited('admin').map((e) => e.detail);
    for (const expected of [
      'ended 1 session(s) of lab.tom',
      'unlocked lab.tom',
      'reset MFA of lab.tom; sessions ended',
    ])
      assert.ok(details.includes(expected), expected);
  });

  test(name('care assignments of a doctor: start, list, end'), async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    const admin = await adminSession(kit);
    const doctor = await kit.addUser({ username: 'dr.care', role: 'doctor' });
    const nurse = await kit.addUser({ username: 'nurse.care', role: 'nurse' });
    const path = (user: string, patient: string) => `/api/admin/users/${user}/patients/${patient}`;

    const start = await kit.call('POST', path(doctor, 'p-42'), { token: admin });
    assert.is(start.status, 201);
    assert.is(start.body.assignment.to, null);
    assert.is(
      (await kit.call('POST', path(doctor, 'p-42'), { token: admin })).status,
      200,
      'already',
    );
    await kit.call('POST', path(doctor, 'p-43'), { token: admin });
    const listed = await kit.call('GET', `/api/admin/users/${doctor}`, { token: admin });
    assert.equal(listed.body.patients.map((p: { patientId: string }) => p.patientId).sort(), [
      'p-42',
      'p-43',
    ]);
    const notDoctor = await kit.call('POST', path(nurse, 'p-42'), { token: admin });
    assert.is(notDoctor.body.error.code, 'not-a-doctor');

    kit.advance(DAY);
    const admin2 = await adminSession(kit);
    const end = await kit.call('DELETE', path(doctor, 'p-42'), { token: admin2 });
    assert.is(end.status, 200);
    assert.is(end.body.assignment.to, new Date(kit.clock.now).toISOString());
    assert.is((await kit.call('DELETE', path(doctor, 'p-42'), { token: admin2 })).status, 404);
    const now = await kit.call('GET', `/api/admin/users/${doctor}/patients`, { token: admin2 });
    assert.equal(
      now.body.patients.map((p: { patientId: string }) => p.patientId),
      ['p-43'],
    );

    const care = kit.audited('admin').filter((e) => e.detail?.startsWith('care assignment'));
    assert.equal(
      care.map((e) => [e.detail, e.patientIds]),
      [
        ['care assignment started', ['p-42']],
        ['care assignment started', ['p-43']],
        ['care assignment ended', ['p-42']],
      ],
    );
  });

  test(
    name('API clients: created with a secret shown once, listed without it, revoked'),
    async () => {
      const database = await databases.of(target);
      const kit = await authKit(database.db);
      const admin = await adminSession(kit);
      const bad = await kit.call('POST', '/api/admin/clients', {
        token: admin,
        body: { name: 'x', scopes: ['patient/*.read'] },
      });
      assert.is(bad.status, 400);
      assert.match(bad.body.error.message, /patient\/\*\.read/);
      const created = await kit.call('POST', '/api/admin/clients', {
        token: admin,
        body: { name: 'billing-export', scopes: 'system/Patient.read system/Encounter.read' },
      });
      assert.is(created.status, 201);
      assert.equal(created.body.client.scopes, ['system/Patient.read', 'system/Encounter.read']);
      const { clientId, clientSecret } = created.body;
      const list = await kit.call('GET', '/api/admin/clients', { token: admin });
      assert.ok(list.body.clients.some((c: { id: string }) => c.id === clientId));
      assert.not.ok(JSON.stringify(list.body).includes(clientSecret));

      const token = await kit.call('POST', '/api/auth/token', {
        body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.is(token.status, 200);
      const asClient = await kit.call('GET', '/api/admin/users', {
        token: token.body.access_token,
      });
      assert.is(asClient.status, 403, 'an API client is never an administrator');

      const revoked = await kit.call('POST', `/api/admin/clients/${clientId}/revoke`, {
        token: admin,
      });
      assert.type(revoked.body.client.revokedAt, 'string');
      assert.is(
        (await kit.call('GET', '/api/probe', { token: token.body.access_token })).status,
        401,
      );
      assert.is(
        (await kit.call('POST', '/api/admin/clients/nope/revoke', { token: admin })).status,
        404,
      );

      const details = kit.audited('admin').map((e) => e.detail);
      assert.ok(
        details.includes(
          'created API client billing-export: system/Patient.read system/Encounter.read',
        ),
      );
      assert.ok(details.includes('revoked API client billing-export and its tokens'));
      assert.not.ok(JSON.stringify(kit.audit.entries).includes(clientSecret));
    },
  );
}

test.run();
