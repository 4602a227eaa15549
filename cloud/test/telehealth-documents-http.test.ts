// Document upload through a running cloud: the upload route has its own size limit, above the
// 1 MiB /api body limit every other route keeps, and a patient signs in and shares over HTTP.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Cloud, startCloud } from '../src/server.ts';
import { fetchWith } from './support/api-token.ts';
import {
  insertAppointment,
  seedTelehealth,
  TELEHEALTH_PASSWORD,
  type TelehealthPeople,
} from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const MIB = 1_048_576;

for (const target of testDatabaseTargets()) {
  const t = suite(`telehealth documents over HTTP (${target.name})`);
  let cloud: Cloud;
  let people: TelehealthPeople;
  let appointmentId: string;
  let asPatient: typeof fetch;
  let asOtherPatient: typeof fetch;

  /** A patient signs in with a password (patients without MFA enrolled need no second step). */
  const signIn = async (username: string) => {
    const login = await fetch(`${cloud.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: TELEHEALTH_PASSWORD }),
    });
    const session = (await login.json()) as { token: string; mfaRequired: boolean };
    assert.is(login.status, 200);
    assert.is(session.mfaRequired, false);
    return fetchWith(session.token);
  };

  t.before(async () => {
    cloud = await startCloud({
      database: await target.open(),
      httpPort: 0,
      mqttPort: 0,
      app: { telehealth: { documents: { maxBytes: 3 * MIB } } },
    });
    const now = Date.now();
    people = await seedTelehealth(cloud.database.db, now);
    appointmentId = await insertAppointment(cloud.database.db, people, { startAt: now });
    asPatient = await signIn(people.patient.username);
    asOtherPatient = await signIn(people.otherPatient.username);
  });

  t.after(async () => {
    await cloud.stop();
  });

  const uploadUrl = () =>
    `${cloud.httpUrl}/api/telehealth/appointments/${appointmentId}/documents?name=scan.pdf`;

  t('a 2 MiB document passes the /api body limit and comes back whole', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(2 * MIB)]);
    const res = await asPatient(uploadUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/pdf' },
      body: bytes,
    });
    const created = (await res.json()) as { id: string; url: string; sizeBytes: number };
    assert.is(res.status, 201, JSON.stringify(created));
    assert.is(created.sizeBytes, bytes.length);
    const download = await asPatient(`${cloud.httpUrl}${created.url}`);
    assert.is(download.status, 200);
    assert.is(download.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(Buffer.from(await download.arrayBuffer()).equals(bytes));

    // The DocumentReference's attachment names the FHIR Binary: the same bytes, participants only.
    const reference = (await (
      await asPatient(`${cloud.httpUrl}/fhir/R4/DocumentReference/${created.id}`)
    ).json()) as { content: { attachment: { url: string } }[] };
    const binaryUrl = `${cloud.httpUrl}/fhir/R4/${reference.content[0].attachment.url}`;
    const binary = await asPatient(binaryUrl);
    const resource = (await binary.json()) as Record<string, string> & {
      securityContext: { reference: string };
    };
    assert.is(binary.status, 200, JSON.stringify(resource));
    assert.is(resource.resourceType, 'Binary');
    assert.is(resource.contentType, 'application/pdf');
    assert.is(resource.securityContext.reference, `DocumentReference/${created.id}`);
    assert.ok(Buffer.from(resource.data, 'base64').equals(bytes));
    const refused = await asOtherPatient(binaryUrl);
    assert.is(refused.status, 403);
    assert.is(
      ((await refused.json()) as { resourceType: string }).resourceType,
      'OperationOutcome',
    );
  });

  t('over the document limit is 413 document_too_large', async () => {
    const res = await asPatient(uploadUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/pdf' },
      body: Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(3 * MIB)]),
    });
    assert.is(res.status, 413);
    assert.is(((await res.json()) as { error: { code: string } }).error.code, 'document_too_large');
  });

  t('another patient is refused before the upload is read', async () => {
    const res = await asOtherPatient(uploadUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/pdf' },
      body: Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(2 * MIB)]),
    });
    assert.is(res.status, 403);
    assert.is(((await res.json()) as { error: { code: string } }).error.code, 'forbidden');
  });

  t('every other /api route keeps the 1 MiB body limit', async () => {
    const res = await asPatient(
      `${cloud.httpUrl}/api/telehealth/appointments/${appointmentId}/summary/notes`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ nextSteps: 'x'.repeat(2 * MIB) }),
      },
    );
    assert.is(res.status, 413);
    assert.is(((await res.json()) as { error: { code: string } }).error.code, 'body_too_large');
  });

  t.run();
}
