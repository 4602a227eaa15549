import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { COMMON_PASSWORDS } from './common-passwords.ts';

/**
 * Argon2id cost, the second recommendation of RFC 9106 §4 for memory-constrained servers: 3 passes
 * over 64 MiB (libsodium's INTERACTIVE is 2 passes, MODERATE 3 over 256 MiB). libsodium runs as
 * WebAssembly here, about 2-3x slower than native: one hash or verify costs roughly 0.25 s of one
 * core, which bounds logins to a few per second per core — far above what a hospital needs and far
 * below what a password-guessing attacker wants. MODERATE would cost ~1 s per login.
 */
export const ARGON2ID_OPSLIMIT = 3;
export const ARGON2ID_MEMLIMIT = 64 * 1024 * 1024;

export const PASSWORD_MIN_LENGTH = 12;
/** From this length a password passes without mixing character classes (a passphrase). */
export const PASSPHRASE_MIN_LENGTH = 20;
/** Bounds the work an attacker can hand the hasher. */
export const PASSWORD_MAX_LENGTH = 1024;

/** A password the strength rules refuse; `problems` lists every rule it breaks. */
export class PasswordPolicyError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`the password is not strong enough: ${problems.join('; ')}`);
    this.name = 'PasswordPolicyError';
    this.problems = problems;
  }
}

/** Every strength rule `password` breaks ([] when it is acceptable). */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH)
    problems.push(`it must have at least ${PASSWORD_MIN_LENGTH} characters (it has ${length})`);
  if (length > PASSWORD_MAX_LENGTH)
    problems.push(`it must have at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = password.toLowerCase();
  const name = username.trim().toLowerCase();
  if (name.length >= 3 && lower.includes(name)) problems.push('it must not contain the username');
  if (isCommonPassword(lower))
    problems.push('it is one of the most common passwords (or one with digits or symbols added)');
  const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{L}\p{Nd}]/u].filter((c) =>
    c.test(password),
  ).length;
  if (classes < 3 && length < PASSPHRASE_MIN_LENGTH)
    problems.push(
      `it must mix at least 3 of lower case, upper case, digits and symbols, or be a passphrase of at least ${PASSPHRASE_MIN_LENGTH} characters`,
    );
  return problems;
}

/** Throws PasswordPolicyError listing what is wrong. */
export function assertStrongPassword(password: string, username: string): void {
  const problems = passwordProblems(password, username);
  if (problems.length > 0) throw new PasswordPolicyError(problems);
}

function isCommonPassword(lower: string): boolean {
  if (COMMON_PASSWORDS.has(lower)) return true;
  // The stem without the digits and symbols people pad a weak password with.
  const stem = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  return COMMON_PASSWORDS.has(stem);
}

/** `$argon2id$v=19$m=65536,t=3,p=1$salt$hash`: the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new Error('the password must not be empty');
  return await hasher().run<string>({
    op: 'hash',
    password,
    opsLimit: ARGON2ID_OPSLIMIT,
    memLimit: ARGON2ID_MEMLIMIT,
  });
}

/** Constant-time in libsodium; a malformed stored hash never verifies. */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return hasher().run<boolean>({ op: 'verify', password, hash });
}

/** True when `hash` was made with other parameters than today's (rehash at the next login). */
export function passwordNeedsRehash(hash: string): Promise<boolean> {
  return hasher().run<boolean>({
    op: 'needsRehash',
    hash,
    opsLimit: ARGON2ID_OPSLIMIT,
    memLimit: ARGON2ID_MEMLIMIT,
  });
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies against a hash of a random password, so that a login for an unknown user costs the same
 * time as one with a wrong password. Always false.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64'));
  await verifyPassword(password, await dummyHash);
  return false;
}

interface Job {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One worker thread, started at the first use; it holds the process open only while busy. */
class Argon2idWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly jobs = new Map<number, Job>();

  run<T>(message: Record<string, unknown>): Promise<T> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.jobs.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.jobs.size === 1) worker.ref();
      worker.postMessage({ ...message, id });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./argon2id-worker.mjs', import.meta.url));
    worker.unref();
    worker.on(
      'message',
      ({ id, result, error }: { id: number; result?: unknown; error?: string }) =>
        this.settle(id, (job) =>
          error === undefined ? job.resolve(result) : job.reject(new Error(`argon2id: ${error}`)),
        ),
    );
    const fail = (error: Error) => {
      // A dead worker fails what it held; the next call starts a new one.
      this.worker = undefined;
      for (const id of [...this.jobs.keys()]) this.settle(id, (job) => job.reject(error));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`argon2id worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settle(id: number, finish: (job: Job) => void): void {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker?.unref();
    finish(job);
  }
}

let shared: Argon2idWorker | undefined;
const hasher = () => {
  shared ??= new Argon2idWorker();
  return shared;
};
