// TOTP (RFC 6238) proven against the RFC's own test vectors, then the rules around it: base32,
// the ±1 step window, one use per code, the otpauth URI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  base32Decode,
  base32Encode,
  generateTotpSecret,
  hotp,
  matchTotp,
  otpauthUri,
  totpCode,
  totpStep,
} from '../src/auth/totp.ts';

test('RFC 6238 Appendix B: the SHA-1 vectors, 8 digits', () => {
  const key = Buffer.from('12345678901234567890', 'ascii');
  const vectors: [number, string][] = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [seconds, expected] of vectors)
    assert.is(totpCode(key, seconds * 1000, 8), expected, `T = ${seconds}`);
});

test('RFC 6238 Appendix B: the SHA-256 and SHA-512 vectors, for the HMAC plumbing', () => {
  const key256 = Buffer.from('12345678901234567890123456789012', 'ascii');
  const key512 = Buffer.from(
    '1234567890123456789012345678901234567890123456789012345678901234',
    'ascii',
  );
  assert.is(totpCode(key256, 59_000, 8, 'sha256'), '46119246');
  assert.is(totpCode(key512, 59_000, 8, 'sha512'), '90693936');
  assert.is(totpCode(key256, 20000000000_000, 8, 'sha256'), '77737706');
});

test('RFC 4226 Appendix D: HOTP values for counters 0..9', () => {
  const key = Buffer.from('12345678901234567890', 'ascii');
  const expected = [
    '755224',
    '287082',
    '359152',
    '969429',
    '338314',
    '254676',
    '287922',
    '162583',
    '399871',
    '520489',
  ];
  assert.equal(
    expected.map((_, i) => hotp(key, i)),
    expected,
  );
});

test('base32: RFC 4648 test vectors, both ways; lower case and spaces accepted', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [plain, encoded] of cases) {
    assert.is(base32Encode(Buffer.from(plain)), encoded);
    assert.is(base32Decode(encoded).toString(), plain);
  }
  assert.is(base32Decode('mzxw 6ytb oi======').toString(), 'foobar');
  assert.throws(() => base32Decode('MZXW1'), /base32/);
});

test('a new secret is 20 random bytes in base32 (32 characters), never the same twice', () => {
  const a = generateTotpSecret();
  const b = generateTotpSecret();
  assert.match(a, /^[A-Z2-7]{32}$/);
  assert.is(base32Decode(a).length, 20);
  assert.is.not(a, b);
});

test('otpauth URI: issuer, label, algorithm, digits and period', () => {
  assert.is(
    otpauthUri('dr.ada', 'JBSWY3DPEHPK3PXP'),
    'otpauth://totp/wardgate:dr.ada?secret=JBSWY3DPEHPK3PXP&issuer=wardgate&algorithm=SHA1&digits=6&period=30',
  );
});

test('verification: the current step and one either side; not two away; not a used step', () => {
  const secret = generateTotpSecret();
  const key = base32Decode(secret);
  const now = Date.UTC(2026, 0, 1, 12, 0, 10);
  const step = totpStep(now);
  const at = (offset: number) => totpCode(key, now + offset * 30_000);
  assert.is(matchTotp(secret, at(0), now, null), step);
  assert.is(matchTotp(secret, at(-1), now, null), step - 1);
  assert.is(matchTotp(secret, at(1), now, null), step + 1);
  assert.is(matchTotp(secret, at(-2), now, null), null);
  assert.is(matchTotp(secret, at(2), now, null), null);
  // Replay: once a step is accepted, it and every earlier one are refused.
  assert.is(matchTotp(secret, at(0), now, step), null);
  assert.is(matchTotp(secret, at(-1), now, step), null);
  assert.is(matchTotp(secret, at(1), now, step), step + 1);
  // Malformed codes never match.
  for (const bad of ['', '12345', '1234567', 'abcdef', ` ${at(0)}`])
    assert.is(matchTotp(secret, bad, now, null), null);
});

test.run();
