// Documents shared in a telehealth visit: upload and download through the API behind real
// authorization and audit, encrypted at rest with libsodium secretstream, on PGlite and PostgreSQL.
import { createHash, randomBytes } from 'node:crypto';
import { eq, gt } from 'drizzle-orm';
import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Principal } from '../src/auth/principal.ts';
import { bindKeyRing, keyRingOf } from '../src/crypto/db-key-ring.ts';
import { isSealed, KeyRing, MemoryKeySource } from '../src/crypto/key-ring.ts';
import { reencryptPass } from '../src/crypto/key-rotation.ts';
import { DOCUMENT_CONTENT_KEY } from '../src/crypto/sealed-text.ts';
import type { Database } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { checkResource } from '../src/fhir/store/validate.ts';
import { telehealthAppointments } from '../src/telehealth/appointments/schema.ts';
import { ATTACHMENT_SHA256_EXTENSION } from '../src/telehealth/documents/document-reference.ts';
import { visitDocuments } from '../src/telehealth/documents/schema.ts';
import { decryptDocument } from '../src/telehealth/documents/secretstream.ts';
import {
  insertAppointment,
  seedTelehealth,
  type TelehealthPeople,
  telehealthApiAs,
} from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const MINUTE = 60_000;
const START = Date.UTC(2026, 5, 3, 9, 0);
const MAX_BYTES = 200_000;
const CHUNK_BYTES = 4096;

const pdf = (size: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(size - 9)]);
const png = () =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(500)]);

/** A request body that streams `total` bytes in pieces, counting how much was pulled. */
function countingStream(head: Buffer, total: number) {
  const counter = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= total) return controller.close();
      const piece =
        counter.pulled === 0 ? head : randomBytes(Math.min(16_384, total - counter.pulled));
      counter.pulled += piece.length;
      controller.enqueue(piece);
    },
    cancel() {
      counter.cancelled = true;
    },
  });
  return { stream, counter };
}

for (const target of testDatabaseTargets()) {
  const t = suite(`telehealth documents (${target.name})`);
  let database: Database;
  let app: Hono;
  let people: TelehealthPeople;
  let appointmentId: string;
  let as: Principal;
  let now = START + 5 * MINUTE;
  const keys = new MemoryKeySource();

  const upload = (
    who: Principal,
    body: Buffer | string | ReadableStream<Uint8Array>,
    headers: Record<string, string>,
    id = appointmentId,
  ) => {
    as = who;
    return app.request(
      new Request(`http://localhost/api/telehealth/appointments/${id}/documents`, {
        method: 'POST',
        headers,
        body,
        duplex: 'half',
      } as RequestInit),
    );
  };
  const get = async (who: Principal, path: string) => {
    as = who;
    return app.request(`http://localhost/api/telehealth${path}`);
  };
  const json = async (res: Response): Promise<Json> => res.json();
  const documentCount = async () =>
    (await database.db.select().from(visitDocuments)).filter(
      (d) => d.appointmentId === appointmentId,
    ).length;
  const lastSeq = async () =>
    (await database.db.select().from(auditLog)).reduce((m, r) => Math.max(m, r.seq), 0);
  const auditAfter = (seq: number) =>
    database.db.select().from(auditLog).where(gt(auditLog.seq, seq)).orderBy(auditLog.seq);

  t.before(async () => {
    database = await target.open();
    bindKeyRing(database.db, await KeyRing.load(keys));
    people = await seedTelehealth(database.db, START - 86_400_000);
    appointmentId = await insertAppointment(database.db, people, { startAt: START });
    as = people.patient.principal;
    app = telehealthApiAs(
      database.db,
      () => as,
      () => now,
      { documents: { maxBytes: MAX_BYTES, chunkBytes: CHUNK_BYTES } },
    ).app;
  });

  t.after(async () => {
    await database.close();
  });

  t.before.each(() => {
    now = START + 5 * MINUTE;
  });

  t('the patient uploads a PDF, the host downloads the same bytes, audited', async () => {
    const bytes = pdf(150_000);
    const before = await lastSeq();
    const res = await upload(people.patient.principal, bytes, {
      'content-type': 'application/pdf',
      'content-length': String(bytes.length),
      'x-file-name': encodeURIComponent('lab results.pdf'),
      'x-description': encodeURIComponent('Blood panel from last week'),
    });
    const created = await json(res);
    assert.is(res.status, 201, JSON.stringify(created));
    assert.is(created.title, 'lab results.pdf');
    assert.is(res.headers.get('connection'), null, 'a read body keeps the connection');
    assert.is(created.description, 'Blood panel from last week');
    assert.is(created.sizeBytes, bytes.length);
    assert.is(created.sharedBy, 'patient');
    assert.is(created.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.is(res.headers.get('location'), created.url);

    const download = await get(people.doctor.principal, `/documents/${created.id}/content`);
    assert.is(download.status, 200);
    assert.is(download.headers.get('content-type'), 'application/pdf');
    assert.is(download.headers.get('x-content-type-options'), 'nosniff');
    assert.match(
      download.headers.get('content-disposition') ?? '',
      /^attachment; filename="lab results.pdf"/,
    );
    assert.ok(Buffer.from(await download.arrayBuffer()).equals(bytes), 'the bytes round-trip');

    const trail = await auditAfter(before);
    const upload201 = trail.find((r) => r.action === 'create' && r.outcome === 'success');
    assert.ok(upload201, JSON.stringify(trail));
    assert.is(upload201.actorId, people.patient.principal.id);
    assert.equal(upload201.patientIds, [people.patient.patientId]);
    assert.match(JSON.stringify(upload201.event), `DocumentReference/${created.id}`);
    const read = trail.find((r) => r.action === 'read' && r.outcome === 'success');
    assert.ok(read, JSON.stringify(trail));
    assert.is(read.actorId, people.doctor.principal.id);
    assert.equal(read.patientIds, [people.patient.patientId]);
  });

  t('the DocumentReference is valid R4 and points at the appointment and the content', async () => {
    now = START + 6 * MINUTE;
    const bytes = Buffer.from('Blood pressure log\n135/85 morning\n128/80 evening\n');
    const res = await upload(people.doctor.principal, bytes, {
      'content-type': 'text/plain; charset=utf-8',
      'x-file-name': encodeURIComponent('bloeddruk é.txt'),
    });
    const created = await json(res);
    assert.is(res.status, 201, JSON.stringify(created));
    const ref = await json(await get(people.patient.principal, `/documents/${created.id}`));
    checkResource(ref, 'DocumentReference', created.id);
    assert.is(ref.status, 'current');
    assert.equal(ref.subject, { reference: `Patient/${people.patient.patientId}` });
    assert.equal(ref.author, [{ reference: `Practitioner/${people.doctor.practitionerId}` }]);
    assert.equal(ref.context.related, [{ reference: `Appointment/${appointmentId}` }]);
    const attachment = ref.content[0].attachment;
    assert.is(attachment.contentType, 'text/plain');
    assert.is(attachment.size, bytes.length);
    assert.is(attachment.hash, createHash('sha1').update(bytes).digest('base64'));
    assert.is(attachment.title, 'bloeddruk é.txt');
    assert.is(attachment.url, `Binary/${created.id}`);
    assert.equal(attachment.extension, [
      {
        url: ATTACHMENT_SHA256_EXTENSION,
        valueString: createHash('sha256').update(bytes).digest('hex'),
      },
    ]);

    const download = await get(
      people.patient.principal,
      created.url.slice('/api/telehealth'.length),
    );
    assert.is(download.status, 200);
    assert.is(download.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.is(
      download.headers.get('content-disposition'),
      `attachment; filename="bloeddruk _.txt"; filename*=UTF-8''bloeddruk%20%C3%A9.txt`,
    );
    assert.ok(Buffer.from(await download.arrayBuffer()).equals(bytes));
  });

  t('both participants list the documents of the visit', async () => {
    for (const who of [people.doctor.principal, people.patient.principal]) {
      const res = await get(who, `/appointments/${appointmentId}/documents`);
      assert.is(res.status, 200);
      const { documents } = await json(res);
      assert.equal(
        documents.map((d: Json) => [d.title, d.sharedBy]),
        [
          ['lab results.pdf', 'patient'],
          ['bloeddruk é.txt', 'host'],
        ],
      );
    }
  });

  t('the stored ciphertext is not the plaintext and opens only with its sealed key', async () => {
    const marker = Buffer.from(`MARKER-${randomBytes(8).toString('hex')}-`.repeat(200));
    const res = await upload(people.patient.principal, marker, {
      'content-type': 'text/plain',
      'x-file-name': 'marker.txt',
    });
    const created = await json(res);
    assert.is(res.status, 201);
    const [row] = await database.db
      .select()
      .from(visitDocuments)
      .where(eq(visitDocuments.id, created.id));
    assert.not.ok(row.ciphertext.includes(marker.subarray(0, 32)), 'no plaintext at rest');
    const messages = Math.ceil(marker.length / CHUNK_BYTES);
    assert.is(row.ciphertext.length, 24 + marker.length + 17 * messages);
    assert.is(row.chunkBytes, CHUNK_BYTES);
    assert.ok(isSealed(row.wrappedKey), 'the document key is sealed by the key ring');

    const ring = keyRingOf(database.db);
    const key = Buffer.from(
      (await DOCUMENT_CONTENT_KEY.open(ring, row.id, row.wrappedKey)) as string,
      'base64',
    );
    const opened = Buffer.concat(decryptDocument(row.ciphertext, key, row.chunkBytes, row.id));
    assert.ok(opened.equals(marker));
    assert.throws(
      () => decryptDocument(row.ciphertext, randomBytes(32), row.chunkBytes, row.id),
      /does not authenticate/,
    );
    assert.throws(
      () => decryptDocument(row.ciphertext, key, row.chunkBytes, 'another-document'),
      /does not authenticate/,
      'each message is bound to its document id',
    );
    const elsewhere = await DOCUMENT_CONTENT_KEY.open(
      ring,
      'another-document',
      row.wrappedKey,
    ).then(
      () => 'opened',
      (error: Error) => error.name,
    );
    assert.is(elsewhere, 'SealedValueError', 'the sealed key is bound to its document id');
  });

  t('tampered or truncated ciphertext is refused, never served', async () => {
    const bytes = pdf(20_000);
    const created = await json(
      await upload(people.patient.principal, bytes, {
        'content-type': 'application/pdf',
        'x-file-name': 'scan.pdf',
      }),
    );
    const [row] = await database.db
      .select()
      .from(visitDocuments)
      .where(eq(visitDocuments.id, created.id));
    const flipped = Buffer.from(row.ciphertext);
    flipped[24 + CHUNK_BYTES + 17 + 100] ^= 0x01;
    const truncated = row.ciphertext.subarray(0, 24 + 2 * (CHUNK_BYTES + 17));
    const swapped = Buffer.concat([
      row.ciphertext.subarray(0, 24),
      row.ciphertext.subarray(24 + CHUNK_BYTES + 17, 24 + 2 * (CHUNK_BYTES + 17)),
      row.ciphertext.subarray(24, 24 + CHUNK_BYTES + 17),
      row.ciphertext.subarray(24 + 2 * (CHUNK_BYTES + 17)),
    ]);
    for (const [what, ciphertext] of [
      ['a flipped bit', flipped],
      ['a truncated stream', truncated],
      ['reordered messages', swapped],
    ] as const) {
      await database.db
        .update(visitDocuments)
        .set({ ciphertext })
        .where(eq(visitDocuments.id, created.id));
      const before = await lastSeq();
      const res = await get(people.doctor.principal, `/documents/${created.id}/content`);
      assert.is(res.status, 500, what);
      assert.equal((await json(res)).error.code, 'document_integrity', what);
      const [record] = await auditAfter(before);
      assert.is(record.outcome, 'failure', `${what}: the failed read is audited`);
    }
    await database.db
      .update(visitDocuments)
      .set({ ciphertext: row.ciphertext })
      .where(eq(visitDocuments.id, created.id));
    const restored = await get(people.doctor.principal, `/documents/${created.id}/content`);
    assert.ok(Buffer.from(await restored.arrayBuffer()).equals(bytes));
  });

  t('a declared size over the limit is 413 before the body is read', async () => {
    const count = await documentCount();
    const before = await lastSeq();
    const { stream, counter } = countingStream(Buffer.from('%PDF-1.7\n'), MAX_BYTES + 1);
    const res = await upload(people.patient.principal, stream, {
      'content-type': 'application/pdf',
      'content-length': String(MAX_BYTES + 1),
      'x-file-name': 'big.pdf',
    });
    assert.is(res.status, 413);
    assert.is((await json(res)).error.code, 'document_too_large');
    assert.is(res.headers.get('connection'), 'close');
    assert.is(counter.pulled <= 9, true, `pulled ${counter.pulled} bytes`);
    assert.is(await documentCount(), count);
    const [attempt] = await auditAfter(before);
    assert.is(attempt.action, 'create');
    assert.is(attempt.outcome, 'failure', 'the refused upload is audited');
    assert.equal(attempt.patientIds, [people.patient.patientId]);
  });

  t('a streamed body over the limit is cut off with 413 and nothing stored', async () => {
    const count = await documentCount();
    const { stream, counter } = countingStream(Buffer.from('%PDF-1.7\n'), 5 * MAX_BYTES);
    const res = await upload(people.patient.principal, stream, {
      'content-type': 'application/pdf',
      'x-file-name': 'big.pdf',
    });
    assert.is(res.status, 413);
    assert.is((await json(res)).error.code, 'document_too_large');
    assert.ok(counter.cancelled, 'the upload stream is cancelled');
    assert.ok(counter.pulled < 2 * MAX_BYTES, `stopped reading (${counter.pulled} bytes pulled)`);
    assert.is(await documentCount(), count);

    const exact = await upload(people.patient.principal, pdf(MAX_BYTES), {
      'content-type': 'application/pdf',
      'x-file-name': 'exact.pdf',
    });
    assert.is(exact.status, 201, 'exactly the limit is accepted');
  });

  t('types outside the allow-list are 415, and so is content that is not its type', async () => {
    const count = await documentCount();
    const cases: [string, Buffer, string][] = [
      ['application/zip', Buffer.from('PK\x03\x04zip'), 'unsupported_content_type'],
      ['text/html', Buffer.from('<script>alert(1)</script>'), 'unsupported_content_type'],
      ['text/plain; charset=latin1', Buffer.from('caf\xe9', 'latin1'), 'unsupported_content_type'],
      ['image/png', pdf(1000), 'content_mismatch'],
      ['application/pdf', png(), 'content_mismatch'],
      ['image/jpeg', Buffer.from([0xff, 0xd8]), 'content_mismatch'],
      ['text/plain', Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03]), 'content_mismatch'],
      ['text/plain', Buffer.from([0x61, 0xc3, 0x28, 0x62]), 'content_mismatch'],
    ];
    for (const [type, body, code] of cases) {
      const res = await upload(people.patient.principal, body, {
        'content-type': type,
        'x-file-name': 'file',
      });
      assert.is(res.status, 415, type);
      assert.is((await json(res)).error.code, code, type);
    }
    const image = await upload(people.patient.principal, png(), {
      'content-type': 'image/png',
      'x-file-name': 'rash.png',
    });
    assert.is(image.status, 201, 'a real PNG is accepted');
    assert.is(await documentCount(), count + 1);
  });

  t('bad uploads are 400 with a code', async () => {
    const cases: [Record<string, string>, Buffer | string, string][] = [
      [{ 'content-type': 'application/pdf' }, pdf(100), 'file_name_required'],
      [
        { 'content-type': 'application/pdf', 'x-file-name': '../../etc/passwd' },
        pdf(100),
        'invalid_file_name',
      ],
      [
        { 'content-type': 'application/pdf', 'x-file-name': '%E0%A4%A' },
        pdf(100),
        'invalid_header',
      ],
      [{ 'content-type': 'application/pdf', 'x-file-name': 'a.pdf' }, '', 'empty_document'],
    ];
    for (const [headers, body, code] of cases) {
      const res = await upload(people.patient.principal, body, headers);
      assert.is(res.status, 400, code);
      assert.is((await json(res)).error.code, code);
    }
  });

  t('sharing is open from 15 minutes before the start to 4 hours after the end', async () => {
    const send = () =>
      upload(people.patient.principal, pdf(100), {
        'content-type': 'application/pdf',
        'x-file-name': 'w.pdf',
      });
    now = START - 16 * MINUTE;
    let res = await send();
    assert.is(res.status, 409);
    assert.is((await json(res)).error.code, 'visit_not_open');
    now = START - 15 * MINUTE;
    assert.is((await send()).status, 201);
    now = START + 30 * MINUTE + 240 * MINUTE;
    assert.is((await send()).status, 201);
    now += 1;
    res = await send();
    assert.is(res.status, 409);
    assert.is((await json(res)).error.code, 'visit_closed');
    const listed = await get(people.patient.principal, `/appointments/${appointmentId}/documents`);
    assert.is(listed.status, 200, 'the record stays readable afterwards');

    const cancelled = await insertAppointment(database.db, people, {
      startAt: START + 60 * MINUTE,
      status: 'cancelled',
    });
    now = START + 60 * MINUTE;
    res = await upload(
      people.patient.principal,
      pdf(100),
      { 'content-type': 'application/pdf', 'x-file-name': 'c.pdf' },
      cancelled,
    );
    assert.is(res.status, 409);
    assert.is((await json(res)).error.code, 'visit_closed');
    await database.db
      .delete(telehealthAppointments)
      .where(eq(telehealthAppointments.id, cancelled));
  });

  t('non-participants are refused on upload, list, read and download, each audited', async () => {
    const [doc] = (
      await json(await get(people.patient.principal, `/appointments/${appointmentId}/documents`))
    ).documents;
    const count = await documentCount();
    for (const stranger of [people.otherDoctor, people.otherPatient]) {
      const who = stranger.principal;
      const attempts: [string, () => Response | Promise<Response>][] = [
        [
          'upload',
          () =>
            upload(who, pdf(100), { 'content-type': 'application/pdf', 'x-file-name': 'x.pdf' }),
        ],
        ['list', () => get(who, `/appointments/${appointmentId}/documents`)],
        ['read', () => get(who, `/documents/${doc.id}`)],
        ['download', () => get(who, `/documents/${doc.id}/content`)],
      ];
      for (const [what, attempt] of attempts) {
        const before = await lastSeq();
        const res = await attempt();
        assert.is(res.status, 403, `${stranger.username} ${what}`);
        if (what === 'upload')
          assert.is(res.headers.get('connection'), 'close', 'body left unread');
        const body = await res.text();
        assert.not.match(body, doc.title, 'nothing of the document leaks');
        const trail = await auditAfter(before);
        assert.is(trail.length, 1, `${what}: ${JSON.stringify(trail)}`);
        assert.is(trail[0].outcome, 'denied');
        assert.is(trail[0].actorId, who.id);
        assert.equal(trail[0].patientIds, [people.patient.patientId], `${what} names the patient`);
      }
    }
    const unknown = await get(people.otherDoctor.principal, '/documents/no-such-document/content');
    assert.is(unknown.status, 403, 'an unknown id looks the same as a refused one');
    assert.is(await documentCount(), count);
  });

  t('a key rotation re-seals the document keys; every document still downloads', async () => {
    const ring = keyRingOf(database.db);
    const version = keys.rotate();
    assert.ok(await ring.reload());
    await reencryptPass(database.db, ring);
    const rows = await database.db.select().from(visitDocuments);
    assert.ok(rows.length > 3);
    for (const row of rows) {
      assert.ok(row.wrappedKey.startsWith(`wg1.${version}.`), 'sealed with the new version');
      const res = await get(people.patient.principal, `/documents/${row.id}/content`);
      assert.is(res.status, 200);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.is(createHash('sha256').update(bytes).digest('hex'), row.sha256);
    }
  });

  t.run();
}
