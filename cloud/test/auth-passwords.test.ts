// Password strength rules and Argon2id hashing (libsodium crypto_pwhash_str in a worker thread).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ARGON2ID_MEMLIMIT,
  ARGON2ID_OPSLIMIT,
  assertStrongPassword,
  hashPassword,
  PasswordPolicyError,
  passwordNeedsRehash,
  passwordProblems,
  verifyAgainstDummy,
  verifyPassword,
} from '../src/auth/passwords.ts';

test('strong passwords pass: mixed classes from 12 characters, or a passphrase from 20', () => {
  for (const ok of [
    'Tulip-Harbour-2931',
    'kx9#Lm2!qZ7w',
    'violin candle harbour meadow',
    'Grüße-aus-Köln-77',
  ])
    assert.equal(passwordProblems(ok, 'alice'), [], ok);
});

test('each rule names what is wrong, all of them at once', () => {
  assert.equal(passwordProblems('Sh0rt!', 'alice'), [
    'it must have at least 12 characters (it has 6)',
  ]);
  assert.equal(passwordProblems('alllowercaseletters', 'bob'), [
    'it must mix at least 3 of lower case, upper case, digits and symbols, or be a passphrase of at least 20 characters',
  ]);
  assert.equal(passwordProblems('Alice-Secure-2931', 'alice'), [
    'it must not contain the username',
  ]);
  const weak = passwordProblems('password', 'password');
  assert.is(weak.length, 4, weak.join(' | '));
  try {
    assertStrongPassword('qwerty', 'carol');
    assert.unreachable();
  } catch (error) {
    assert.instance(error, PasswordPolicyError);
    assert.match(
      (error as Error).message,
      /^the password is not strong enough: it must have at least 12/,
    );
    assert.ok((error as PasswordPolicyError).problems.length >= 2);
  }
});

test('common passwords are refused, also with digits and symbols stuck on', () => {
  for (const common of [
    'Password2024!',
    '123456789012',
    'Qwertyuiop123',
    '!!Welcome1234',
    'Letmein#2025!',
  ])
    assert.ok(
      passwordProblems(common, 'x').some((p) => p.includes('most common')),
      `${common} should be refused as common`,
    );
  assert.equal(passwordProblems('Wardgate-2026!', 'x'), [
    'it is one of the most common passwords (or one with digits or symbols added)',
  ]);
});

test('Argon2id hash: parameters in the string, verifies the right password only, needs no rehash', async () => {
  const hash = await hashPassword('Tulip-Harbour-2931');
  assert.match(
    hash,
    new RegExp(`^\\$argon2id\\$v=19\\$m=${ARGON2ID_MEMLIMIT / 1024},t=${ARGON2ID_OPSLIMIT},p=1\\$`),
  );
  assert.is.not(await hashPassword('Tulip-Harbour-2931'), hash, 'a new salt every time');
  assert.ok(await verifyPassword('Tulip-Harbour-2931', hash));
  assert.not.ok(await verifyPassword('Tulip-Harbour-2932', hash));
  assert.not.ok(await verifyPassword('Tulip-Harbour-2931', 'not a hash'));
  assert.not.ok(await passwordNeedsRehash(hash));
  // A hash made with weaker parameters is upgraded at the next login.
  const weaker = hash.replace(`t=${ARGON2ID_OPSLIMIT}`, 't=1');
  assert.ok(await passwordNeedsRehash(weaker));
  assert.is(await verifyAgainstDummy('anything'), false);
});

test('hashing runs off the main thread: timers keep firing during a hash', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    await hashPassword('Tulip-Harbour-2931');
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks >= 5, `only ${ticks} timer ticks during a hash`);
});

test.run();
