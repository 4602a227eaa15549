// The PHI key ring on its own: sealing and opening, what refuses to open, key versions and the key
// file, blind indexes, and the blind calendar units that keep birth-date ranges searchable.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dateSearchTokens, dateValueTokens } from '../src/crypto/blind-dates.ts';
import {
  createKeyFile,
  KeyRing,
  keyFileBeside,
  loadKeyRing,
  MemoryKeySource,
  rotateKeyFile,
  SealedValueError,
  sealedVersion,
  UnknownKeyVersionError,
} from '../src/crypto/index.ts';
import { blindSearchMatches, normalizeContact, wordsOf } from '../src/crypto/phi-index.ts';
import { type DatePrefix, parseDate } from '../src/fhir/search-params.ts';

/** The promise rejects with a message matching `pattern`. */
async function rejects(promise: Promise<unknown>, pattern: RegExp, message?: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.ok(error, message ?? `expected a rejection matching ${pattern}`);
  assert.match(error.message, pattern, message);
}

const dir = await mkdtemp(join(tmpdir(), 'wardgate-phi-keys-'));
test.after(() => rm(dir, { recursive: true, force: true }));

const isSealedValueError = (e: unknown) => e instanceof SealedValueError;

test('a sealed value opens with its associated data, and only with it', async () => {
  const ring = await KeyRing.load(new MemoryKeySource());
  const ad = 'bed_assignments.display_name|42';
  const sealed = ring.seal('Ada O.', ad);
  assert.match(sealed, /^wg1\.1\.[A-Za-z0-9_-]+$/);
  assert.not.match(sealed, 'Ada');
  assert.is(ring.open(sealed, ad), 'Ada O.');
  assert.is.not(ring.seal('Ada O.', ad), sealed, 'a fresh nonce each time');
  assert.is(ring.open(ring.seal('', ad), ad), '', 'the empty string too');
  const unicode = 'Zoë Ångström-Ñúñez 患者';
  assert.is(ring.open(ring.seal(unicode, ad), ad), unicode);

  // Moved to another row, another column, another table: refused.
  for (const other of [
    'bed_assignments.display_name|43',
    'bed_assignments.other|42',
    'clinical_alerts.acknowledge_note|42',
  ])
    assert.throws(() => ring.open(sealed, other), isSealedValueError, other);

  // Any flipped bit, in the nonce, the ciphertext or the tag: refused.
  const body = Buffer.from(sealed.split('.')[2], 'base64url');
  for (const at of [0, 23, 24, body.length - 17, body.length - 1]) {
    const flipped = Buffer.from(body);
    flipped[at] ^= 0x01;
    assert.throws(
      () => ring.open(`wg1.1.${flipped.toString('base64url')}`, ad),
      isSealedValueError,
      `bit flipped at ${at}`,
    );
  }
  assert.throws(() => ring.open(`wg1.1.${body.subarray(0, 30).toString('base64url')}`, ad));
  assert.throws(() => ring.open('not sealed', ad), isSealedValueError);

  // Another ring's keys: refused; the version relabelled: refused.
  const stranger = await KeyRing.load(new MemoryKeySource());
  assert.throws(() => stranger.open(sealed, ad), isSealedValueError);
  const source = new MemoryKeySource();
  const two = await KeyRing.load(source);
  source.rotate();
  await two.reload();
  const v2 = two.seal('x', ad);
  assert.throws(() => two.open(v2.replace(/^wg1\.2\./, 'wg1.1.'), ad), isSealedValueError);
});

test('key versions: the current one seals, each opens its own, an unknown one is said so', async () => {
  const source = new MemoryKeySource();
  const ring = await KeyRing.load(source);
  const ad = 'fhir.content|Patient/p1/1';
  const old = ring.seal('first', ad);
  assert.is(sealedVersion(old), 1);

  // Another process rotated; this one has not reloaded yet.
  const elsewhere = await KeyRing.load(source);
  source.rotate();
  await elsewhere.reload();
  const newer = elsewhere.seal('second', ad);
  assert.is(sealedVersion(newer), 2);
  assert.throws(
    () => ring.open(newer, ad),
    (e: unknown) => e instanceof UnknownKeyVersionError && e.version === 2,
  );

  assert.is(await ring.reload(), true, 'the rotation is seen');
  assert.is(await ring.reload(), false, 'nothing changed since');
  assert.is(ring.currentVersion, 2);
  assert.equal(ring.versions, [1, 2]);
  assert.is(ring.open(old, ad), 'first', 'the old version still opens');
  assert.is(ring.open(newer, ad), 'second');
  assert.is(sealedVersion(ring.seal('third', ad)), 2);
});

test('the key file: made 0600, loaded, rotated in place, refused when others may read it', async () => {
  const path = join(dir, 'keys.json');
  const ring = await createKeyFile(path);
  assert.is((await stat(path)).mode & 0o777, 0o600);
  assert.is(ring.currentVersion, 1);
  const file = JSON.parse(await readFile(path, 'utf8'));
  assert.equal(Object.keys(file).sort(), ['current', 'indexKey', 'keys']);
  assert.is(Buffer.from(file.keys[0].key, 'base64').length, 32);
  assert.ok(Date.parse(file.keys[0].createdAt) > 0);
  await rejects(createKeyFile(path), /EEXIST/, 'an existing key file is never replaced');

  const sealed = ring.seal('MRN-0001', 'x|1');
  const blind = ring.blindIndex('Patient.identifier', 'MRN-0001');
  assert.is(await rotateKeyFile(path), 2);
  assert.is((await stat(path)).mode & 0o777, 0o600, 'still owner-only after the rotation');
  const reloaded = await loadKeyRing(path);
  assert.is(reloaded.currentVersion, 2);
  assert.is(reloaded.open(sealed, 'x|1'), 'MRN-0001');
  assert.is(
    reloaded.blindIndex('Patient.identifier', 'MRN-0001'),
    blind,
    'blind indexes survive a rotation',
  );
  assert.is(await ring.reload(), true);
  assert.is(ring.currentVersion, 2);

  await chmod(path, 0o644);
  await rejects(loadKeyRing(path), /may be read by others \(mode 644\): chmod 600/);
  await chmod(path, 0o600);

  const broken = join(dir, 'broken.json');
  await writeFile(broken, JSON.stringify({ current: 2, keys: [], indexKey: 'AAAA' }), {
    mode: 0o600,
  });
  await rejects(loadKeyRing(broken), /not a wardgate key file: keys: .*indexKey/);
  await rejects(loadKeyRing(join(dir, 'none.json')), /no key file at .*keys create/);
  assert.is(
    keyFileBeside('/var/lib/wardgate-cloud/db'),
    '/var/lib/wardgate-cloud/db.phi-keys.json',
  );
});

test('a changed index key is refused on reload: every blind index would stop matching', async () => {
  const path = join(dir, 'index-key.json');
  const ring = await createKeyFile(path);
  const file = JSON.parse(await readFile(path, 'utf8'));
  file.indexKey = Buffer.alloc(32, 7).toString('base64');
  await writeFile(path, JSON.stringify(file), { mode: 0o600 });
  await rejects(ring.reload(), /the index key changed/);
});

test('blind indexes: deterministic, per field, keyed', async () => {
  const ring = await KeyRing.load(new MemoryKeySource());
  const a = ring.blindIndex('Patient.identifier', 'MRN-0001');
  assert.match(a, /^[A-Za-z0-9_-]{22}$/);
  assert.is(ring.blindIndex('Patient.identifier', 'MRN-0001'), a);
  assert.is.not(ring.blindIndex('Patient.phone', 'MRN-0001'), a, 'another field');
  assert.is.not(ring.blindIndex('Patient.identifier', 'MRN-0002'), a);
  const other = await KeyRing.load(new MemoryKeySource());
  assert.is.not(other.blindIndex('Patient.identifier', 'MRN-0001'), a, 'another key');
  // The field and the value are separated: ("ab", "c") is not ("a", "bc").
  assert.is.not(ring.blindIndex('ab', 'c'), ring.blindIndex('a', 'bc'));
});

test('normalization: whole words of names, digits of phone numbers, emails lower case', () => {
  assert.equal(wordsOf("  Zoë O'Brien-Smith "), ['zoe', 'o', 'brien', 'smith']);
  assert.equal(wordsOf('%'), []);
  assert.is(normalizeContact('+44 (20) 7946-0000'), '442079460000');
  assert.is(normalizeContact(' Ada.Okafor@Example.ORG '), 'ada.okafor@example.org');
  assert.is(normalizeContact('https://example.org/me'), 'https://example.org/me');
});

test('a search on a blinded parameter: words ANDed, alternatives ORed, :contains refused', async () => {
  const ring = await KeyRing.load(new MemoryKeySource());
  const word = (w: string) => ring.blindIndex('Patient.name:word', w);
  assert.equal(blindSearchMatches(ring, 'Patient', 'name', 'name', undefined, 'Ada Okafor,Bo'), [
    [
      { system: null, code: word('ada') },
      { system: null, code: word('okafor') },
    ],
    [{ system: null, code: word('bo') }],
  ]);
  assert.throws(
    () => blindSearchMatches(ring, 'Patient', 'name', 'name:contains', 'contains', 'ok'),
    /:contains is not supported/,
  );
  const mrn = ring.blindIndex('Patient.identifier', 'MRN-1');
  assert.equal(
    blindSearchMatches(ring, 'Patient', 'identifier', 'identifier', undefined, 'urn:x|MRN-1'),
    [[{ system: 'urn:x', code: mrn }]],
  );
  assert.equal(
    blindSearchMatches(ring, 'Patient', 'identifier', 'identifier', undefined, '|MRN-1'),
    [[{ system: null, code: mrn }]],
  );
  assert.equal(
    blindSearchMatches(ring, 'Patient', 'identifier', 'identifier', undefined, 'urn:x|'),
    [[{ system: 'urn:x' }]],
  );
});

// FHIR's comparison of a stored range [lo, hi) with a searched range [start, end), as
// search/conditions.ts rangeCondition makes it for clear dates.
function fhirMatches(prefix: DatePrefix, start: number, end: number, lo: number, hi: number) {
  switch (prefix) {
    case 'eq':
      return lo >= start && hi <= end;
    case 'ne':
      return !(lo >= start && hi <= end);
    case 'gt':
      return hi > end;
    case 'lt':
      return lo < start;
    case 'ge':
      return hi > start;
    case 'le':
      return lo < end;
    case 'sa':
      return lo >= end;
    case 'eb':
      return hi <= start;
  }
}

test('blind calendar units answer every date prefix exactly as clear ranges would', () => {
  // Deterministic pseudo-random dates and searches across precisions, month ends, leap days.
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const date = () => {
    const year = 1900 + random(130);
    const month = String(1 + random(12)).padStart(2, '0');
    const day = String(1 + random(28) + (random(4) === 0 ? 1 : 0)).padStart(2, '0');
    const precision = random(5);
    if (precision === 0) return `${year}`;
    if (precision === 1) return `${year}-${month}`;
    if (precision === 4) return `${1904 + 4 * random(30)}-02-29`;
    return `${year}-${month}-${day}`;
  };
  const stored = Array.from({ length: 400 }, date).map((text) => {
    const { start, end } = parseDate('index', text);
    return { text, start, end, tokens: new Set(dateValueTokens(start, end)) };
  });
  const prefixes: DatePrefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'];
  let compared = 0;
  for (let i = 0; i < 160; i++) {
    const prefix = prefixes[i % prefixes.length];
    const query = `${prefix}${date()}`;
    const { start, end } = parseDate('birthdate', query);
    const search = new Set(dateSearchTokens(prefix, start, end));
    for (const s of stored) {
      const expected = fhirMatches(prefix, start, end, s.start, s.end);
      const got = [...s.tokens].some((t) => search.has(t));
      assert.is(got, expected, `${s.text} vs birthdate=${query}`);
      compared++;
    }
  }
  assert.is(compared, 64_000);
  // A day-precision search inside one month is a handful of tokens, not thousands.
  const { start, end } = parseDate('birthdate', '1980-03-04');
  assert.ok(dateSearchTokens('eq', start, end).length <= 3);
});

test.run();
