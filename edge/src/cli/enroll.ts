import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { parseDocument } from 'yaml';
import { readCaFile } from '../config/load.ts';
import { postJson } from './post-json.ts';

export const ENROLL_USAGE = `  wardgate-edge enroll --cloud URL --token T --config FILE [--ca-file CA]
                                             make this gateway's key pair, register it with the cloud
                                             using a one-time token, and write the credentials into FILE;
                                             with an https:// cloud and a local CA, CA (its ca.crt) is
                                             trusted for enrollment and mqtts:// (cloud.caFile)`;

const TLS_MQTT = /^(mqtts|ssl|wss):/;

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
      'ca-file': { type: 'string' },
    },
  });
  for (const name of ['cloud', 'token', 'config'] as const)
    if (!values[name]) throw new Error(`enroll: --${name} is required`);
  const configFile = resolve(values.config as string);
  const doc = parseDocument(readFileSync(configFile, 'utf8'));
  if (doc.errors.length > 0)
    throw new Error(`${configFile}: ${doc.errors[0].message.split('\n')[0]}`);
  let cloudUrl: URL;
  try {
    cloudUrl = new URL('/api/enroll', values.cloud as string);
  } catch {
    throw new Error(`enroll: --cloud must be the cloud's http(s):// URL, got "${values.cloud}"`);
  }
  // The CA: --ca-file (relative to here), else the config's cloud.caFile (relative to the config).
  const caSetting = values['ca-file']
    ? relativeToConfig(configFile, resolve(values['ca-file']))
    : (doc.getIn(['cloud', 'caFile']) as string | undefined);
  const caFile =
    caSetting === undefined
      ? undefined
      : isAbsolute(caSetting)
        ? caSetting
        : resolve(dirname(configFile), caSetting);
  const ca = caFile ? readCaFile(caFile) : undefined;
  if (ca && cloudUrl.protocol !== 'https:')
    throw new Error(
      `enroll: a CA is given, so the cloud URL must be https://, got ${values.cloud}`,
    );
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
  let response: Awaited<ReturnType<typeof postJson>>;
  try {
    response = await postJson(cloudUrl, { token: values.token, publicKey: keys.publicKey }, { ca });
  } catch (error) {
    rmSync(pending, { force: true });
    throw new Error(`cannot reach the cloud at ${values.cloud}: ${(error as Error).message}`);
  }
  const answer = response.body as {
    gatewayId?: string;
    username?: string;
    password?: string;
    mqttUrl?: string;
    error?: { message?: string };
  };
  const ok = response.status >= 200 && response.status < 300;
  if (!ok || !answer.gatewayId || !answer.password || !answer.mqttUrl) {
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
  if (caSetting !== undefined && TLS_MQTT.test(answer.mqttUrl))
    doc.setIn(['cloud', 'caFile'], caSetting);
  else if (caSetting !== undefined) {
    // The config would be refused with a CA for a plain broker.
    doc.deleteIn(['cloud', 'caFile']);
    console.warn(`the cloud's MQTT is not TLS (${answer.mqttUrl}): cloud.caFile left out`);
  }
  writeFileSync(configFile, doc.toString(), { mode: 0o600 });
  console.log(`enrolled as ${answer.gatewayId}: key in ${keyFile}, MQTT ${answer.mqttUrl}`);
  console.log(`public key registered with the cloud: ${keys.publicKey}`);
  console.log(`next: wardgate-edge config check --config ${values.config}`);
  return 0;
}

/** A path as the config should hold it: relative to the config's folder when inside it. */
function relativeToConfig(configFile: string, file: string): string {
  const path = relative(dirname(configFile), file);
  return path.startsWith('..') || isAbsolute(path) ? file : `./${path}`;
}
