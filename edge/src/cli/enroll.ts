import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { parseDocument } from 'yaml';

export const ENROLL_USAGE = `  wardgate-edge enroll --cloud URL --token T --config FILE
                                             make this gateway's key pair, register it with the cloud
                                             using a one-time token, and write the credentials into FILE`;

/**
 * Enrollment: a fresh Ed25519 key pair is made here (the secret never leaves the gateway), the
 * public key is registered with the cloud using the admin's one-time token, and the gateway id,
 * MQTT URL and password the cloud returns are written into the config (comments kept).
 */
export async function enrollCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv.slice(1),
    allowPositionals: false,
    options: {
      cloud: { type: 'string' },
      token: { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
  });
  for (const name of ['cloud', 'token', 'config'] as const)
    if (!values[name]) throw new Error(`enroll: --${name} is required`);
  const configFile = resolve(values.config as string);
  const doc = parseDocument(readFileSync(configFile, 'utf8'));
  if (doc.errors.length > 0)
    throw new Error(`${configFile}: ${doc.errors[0].message.split('\n')[0]}`);
  const keySetting = String(doc.getIn(['cloud', 'signingKeyFile']) ?? 'gateway.key');
  const keyFile = isAbsolute(keySetting) ? keySetting : resolve(dirname(configFile), keySetting);
  if (existsSync(keyFile))
    throw new Error(
      `${keyFile} exists: enrollment makes a new key, so move the old one away first`,
    );

  await initCrypto();
  const keys = generateSigningKeyPair();
  // The key is on disk before the cloud knows it, so a registered key can never be lost.
  const pending = `${keyFile}.enrolling`;
  writeFileSync(
    pending,
    `# wardgate gateway Ed25519 secret key — keep private\n${keys.secretKey}\n`,
    { mode: 0o600 },
  );
  let response: Response;
  try {
    response = await fetch(new URL('/api/enroll', values.cloud as string), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: values.token, publicKey: keys.publicKey }),
    });
  } catch (error) {
    rmSync(pending, { force: true });
    throw new Error(`cannot reach the cloud at ${values.cloud}: ${(error as Error).message}`);
  }
  const answer = (await response.json().catch(() => ({}))) as {
    gatewayId?: string;
    username?: string;
    password?: string;
    mqttUrl?: string;
    error?: { message?: string };
  };
  if (!response.ok || !answer.gatewayId || !answer.password || !answer.mqttUrl) {
    rmSync(pending, { force: true });
    throw new Error(
      `the cloud refused the enrollment (${response.status}): ${answer.error?.message ?? 'no reason given'}`,
    );
  }
  renameSync(pending, keyFile);
  doc.setIn(['gateway', 'id'], answer.gatewayId);
  doc.setIn(['cloud', 'mqttUrl'], answer.mqttUrl);
  doc.setIn(['cloud', 'username'], answer.username ?? answer.gatewayId);
  doc.setIn(['cloud', 'password'], answer.password);
  doc.setIn(['cloud', 'signingKeyFile'], keySetting);
  writeFileSync(configFile, doc.toString(), { mode: 0o600 });
  console.log(`enrolled as ${answer.gatewayId}: key in ${keyFile}, MQTT ${answer.mqttUrl}`);
  console.log(`public key registered with the cloud: ${keys.publicKey}`);
  console.log(`next: wardgate-edge config check --config ${values.config}`);
  return 0;
}
