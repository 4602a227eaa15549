// Argon2id (libsodium crypto_pwhash_str) off the main thread. Plain JavaScript so that it runs the
// same under tsx and beside the production bundle (which loads it from the source tree). A hash
// takes a few hundred milliseconds of CPU; on the main thread that would stall every request and
// MQTT alarm in flight. Messages: { id, op: 'hash' | 'verify' | 'needsRehash', ... } → { id, result }
// or { id, error }.
import { parentPort } from 'node:worker_threads';
import sodium from 'libsodium-wrappers-sumo';

await sodium.ready;

parentPort.on('message', ({ id, op, password, hash, opsLimit, memLimit }) => {
  try {
    let result;
    if (op === 'hash') result = sodium.crypto_pwhash_str(password, opsLimit, memLimit);
    else if (op === 'verify') result = sodium.crypto_pwhash_str_verify(hash, password);
    else if (op === 'needsRehash')
      result = sodium.crypto_pwhash_str_needs_rehash(hash, opsLimit, memLimit);
    else throw new Error(`unknown operation ${op}`);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
