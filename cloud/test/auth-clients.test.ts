// OAuth 2.0 client credentials (RFC 6749 §4.4) with SMART backend-services scopes, on PGlite and
// PostgreSQL: scope subsets, refused scopes, both ways of client authentication, RFC 6749 §5.2
// errors, the short token lifetime and revocation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createClient, revokeClient } from '../src/auth/clients.ts';
import { grantScopes, scopeCoveredBy } from '../src/auth/scopes.ts';
import { authKit, MINUTE, sharedDatabases } from './support/auth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

test('scope arithmetic: wildcards cover their types and actions, never the other way round', () => {
  const allowed = ['system/Observation.read', 'system/Patient.*', 'system/Device.rs'];
  assert.ok(scopeCoveredBy('system/Observation.read', allowed));
  assert.ok(scopeCoveredBy('system/Patient.write', allowed));
  assert.ok(scopeCoveredBy('system/Patient.read', allowed));
  assert.ok(scopeCoveredBy('system/Device.read', allowed));
  assert.ok(scopeCoveredBy('system/Observation.rs', allowed));
  assert.not.ok(scopeCoveredBy('system/Observation.write', allowed));
  assert.not.ok(scopeCoveredBy('system/*.read', allowed));
  assert.ok(scopeCoveredBy('system/Encounter.read', ['system/*.read']));
  assert.ok(scopeCoveredBy('system/*.read', ['system/*.*']));
  assert.equal(grantScopes([], allowed), { ok: true, scopes: allowed });
  assert.equal(grantScopes(['system/Patient.read'], allowed), {
    ok: true,
    scopes: ['system/Patient.read'],
  });
  assert.not.ok(grantScopes(['patient/Observation.read'], allowed).ok);
});

const databases = sharedDatabases();
test.after(() => databases.closeAll());

for (const target of testDatabaseTargets()) {
  test(`${target.name}: client credentials: tokens, scopes, errors, expiry and revocation`, async () => {
    const database = await databases.of(target);
    const kit = await authKit(database.db);
    const { client, secret } = await createClient(
      database.db,
      { name: 'lab-feed', scopes: ['system/Observation.read', 'system/Patient.*'] },
      kit.clock.now,
    );
    const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      kit.call('POST', '/api/auth/token', { body: form(body), headers: { ...FORM, ...headers } });

    // HTTP Basic, no scope asked: every scope the client may have.
    const all = await token(
      { grant_type: 'client_credentials' },
      { authorization: basic(client.id, secret) },
    );
    assert.is(all.status, 200);
    assert.is(all.body.token_type, 'Bearer');
    assert.is(all.body.expires_in, 300);
    assert.is(all.body.scope, 'system/Observation.read system/Patient.*');
    assert.match(all.body.access_token, /^[A-Za-z0-9_-]{43}$/);
    assert.is(all.headers.get('cache-control'), 'no-store');

    // Credentials in the body, a subset asked for: exactly that subset.
    const subset = await token({
      grant_type: 'client_credentials',
      scope: 'system/Patient.read',
      client_id: client.id,
      client_secret: secret,
    });
    assert.is(subset.status, 200);
    assert.is(subset.body.scope, 'system/Patient.read');

    const probe = await kit.call('GET', '/api/probe', { token: subset.body.access_token });
    assert.is(probe.status, 200);
    assert.equal(probe.body.principal, {
      kind: 'client',
      id: client.id,
      name: 'lab-feed',
      scopes: ['system/Patient.read'],
    });
    // A client token is not a user session.
    const me = await kit.call('GET', '/api/auth/me', { token: subset.body.access_token });
    assert.is(me.status, 401);

    // A scope the client lacks, a broader one, a malformed one: invalid_scope.
    for (const scope of [
      'system/Encounter.read',
      'system/*.read',
      'system/Observation.write',
      'user/Patient.read',
    ]) {
      const refused = await token(
        { grant_type: 'client_credentials', scope },
        { authorization: basic(client.id, secret) },
      );
      assert.is(refused.status, 400, scope);
      assert.is(refused.body.error, 'invalid_scope', scope);
      assert.type(refused.body.error_description, 'string');
    }

    // Client authentication failures: 401 invalid_client (Basic: with WWW-Authenticate).
    const wrongSecret = await token(
      { grant_type: 'client_credentials' },
      { authorization: basic(client.id, `${secret}x`) },
    );
    assert.is(wrongSecret.status, 401);
    assert.is(wrongSecret.body.error, 'invalid_client');
    assert.is(wrongSecret.headers.get('www-authenticate'), 'Basic realm="wardgate"');
    const unknown = await token({
      grant_type: 'client_credentials',
      client_id: 'nope',
      client_secret: secret,
    });
    assert.equal([unknown.status, unknown.body.error], [401, 'invalid_client']);
    const anonymous = await token({ grant_type: 'client_credentials' });
    assert.equal([anonymous.status, anonymous.body.error], [401, 'invalid_client']);

    // Malformed requests.
    const twoWays = await token(
      { grant_type: 'client_credentials', client_id: client.id, client_secret: secret },
      { authorization: basic(client.id, secret) },
    );
    assert.equal([twoWays.status, twoWays.body.error], [400, 'invalid_request']);
    const password = await token(
      { grant_type: 'password' },
      { authorization: basic(client.id, secret) },
    );
    assert.equal([password.status, password.body.error], [400, 'unsupported_grant_type']);
    const noGrant = await token({}, { authorization: basic(client.id, secret) });
    assert.equal([noGrant.status, noGrant.body.error], [400, 'invalid_request']);
    const json = await kit.call('POST', '/api/auth/token', {
      body: { grant_type: 'client_credentials' },
      headers: { authorization: basic(client.id, secret) },
    });
    assert.equal([json.status, json.body.error], [400, 'invalid_request']);
    const twice = await kit.call('POST', '/api/auth/token', {
      body: 'grant_type=client_credentials&grant_type=client_credentials',
      headers: { ...FORM, authorization: basic(client.id, secret) },
    });
    assert.equal([twice.status, twice.body.error], [400, 'invalid_request']);

    // Five minutes later the token is dead.
    kit.advance(5 * MINUTE);
    const expired = await kit.call('GET', '/api/probe', { token: all.body.access_token });
    assert.is(expired.status, 401);
    assert.is(expired.body.error.code, 'token-expired');
    assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

    // Revoking the client ends its live tokens on the next request and refuses new ones.
    const live = await token(
      { grant_type: 'client_credentials' },
      { authorization: basic(client.id, secret) },
    );
    assert.is((await kit.call('GET', '/api/probe', { token: live.body.access_token })).status, 200);
    await revokeClient(database.db, client.id, kit.clock.now);
    const revoked = await kit.call('GET', '/api/probe', { token: live.body.access_token });
    assert.is(revoked.body.error.code, 'token-revoked');
    const after = await token(
      { grant_type: 'client_credentials' },
      { authorization: basic(client.id, secret) },
    );
    assert.equal([after.status, after.body.error], [401, 'invalid_client']);

    // Audited: issued and refused tokens; the secret and tokens appear nowhere.
    assert.is(kit.audited('token', 'success').length, 3);
    assert.is(kit.audited('token', 'denied').length, 4);
    assert.ok(kit.audited('token', 'failure').length >= 8);
    const everything = JSON.stringify(kit.audit.entries);
    for (const s of [secret, all.body.access_token, live.body.access_token])
      assert.not.ok(everything.includes(s));
  });
}

test.run();
