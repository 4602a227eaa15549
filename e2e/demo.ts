// `npm run demo`: the cloud, a 4-bed simulated ward and a gateway configured for it, each started
// from its own CLI as a user would, with all their data in one folder.
// `npm run demo -- --smoke` exits 0 once FHIR serves Observations from all four device kinds.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { stringify as toYaml } from 'yaml';
import {
  addTelehealthUsers,
  bookDemoVisit,
  DEMO_DOCTOR,
  DEMO_PATIENT,
  DEMO_PHARMACY_NCPDP_ID,
} from './demo-telehealth.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: { smoke: { type: 'boolean' }, beds: { type: 'string' } },
});
const beds = Number(flags.beds ?? 4);
const gatewayId = 'ward-a';
/** Who may acknowledge and silence alarms on the demo's nurse screen. */
const DEMO_NURSE = { badge: 'N100', name: 'Demo Nurse', pin: '1234' };
const dataDir = resolve(process.env.WARDGATE_DEMO_DIR ?? join(root, '.wardgate-demo'));

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`demo: ${name} must be a port number 1-65535, got "${raw}"`);
    process.exit(2);
  }
  return port;
}
const ports = {
  cloudHttp: portFromEnv('CLOUD_HTTP_PORT', 4780),
  cloudMqtt: portFromEnv('CLOUD_MQTT_PORT', 4783),
  edgeHttp: portFromEnv('EDGE_HTTP_PORT', 4790),
  edgeMllp: portFromEnv('EDGE_MLLP_PORT', 4791),
  pharmacy: portFromEnv('PHARMACY_PORT', 4797),
};
const envNameOf: Record<keyof typeof ports, string> = {
  cloudHttp: 'CLOUD_HTTP_PORT',
  cloudMqtt: 'CLOUD_MQTT_PORT',
  edgeHttp: 'EDGE_HTTP_PORT',
  edgeMllp: 'EDGE_MLLP_PORT',
  pharmacy: 'PHARMACY_PORT',
};

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

const children: ChildProcess[] = [];
let stopping = false;

function cli(pkg: string, bin: string) {
  return join(root, pkg, 'bin', bin);
}

function start(
  name: string,
  script: string,
  args: string[],
  nodeArgs: string[] = [],
): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${name}]`.padEnd(8);
  const relay = (chunk: Buffer, out: NodeJS.WriteStream) => {
    for (const line of chunk.toString().split('\n')) if (line) out.write(`${prefix}${line}\n`);
  };
  child.stdout?.on('data', (c: Buffer) => relay(c, process.stdout));
  child.stderr?.on('data', (c: Buffer) => relay(c, process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`demo: ${name} exited (${signal ?? code}); stopping the demo`);
      void shutdown(1);
    }
  });
  children.push(child);
  return child;
}

/** Runs a CLI command to its end, its output shown; resolves with what it printed. */
function runToEnd(name: string, script: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('exit', (code) =>
      code === 0 ? done(output) : fail(new Error(`${name} ${args[0]} failed (exit ${code})`)),
    );
  });
}

/** An access token for the demo's API client (OAuth2 client credentials). */
async function accessToken(client: { id: string; secret: string }): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${ports.cloudHttp}/api/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: client.secret,
    }),
  });
  if (!res.ok) return undefined;
  return ((await res.json()) as { access_token: string }).access_token;
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((done) => {
          if (c.exitCode !== null || c.signalCode !== null) return done();
          const force = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.once('exit', () => {
            clearTimeout(force);
            done();
          });
        }),
    ),
  );
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

let token = '';

async function fhir(path: string) {
  const res = await fetch(`http://127.0.0.1:${ports.cloudHttp}/fhir/R4/${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) return undefined;
  return (await res.json()) as {
    total?: number;
    entry?: { resource: Record<string, unknown> & { device?: { reference?: string } } }[];
  };
}

async function main() {
  for (const [key, port] of Object.entries(ports) as [keyof typeof ports, number][]) {
    if (!(await portIsFree(port))) {
      console.error(`demo: port ${port} is taken; set ${envNameOf[key]} to a free port`);
      process.exit(2);
    }
  }

  rmSync(dataDir, { recursive: true, force: true });
  const cloudDir = join(dataDir, 'cloud');
  const edgeDir = join(dataDir, 'edge');
  mkdirSync(cloudDir, { recursive: true });
  mkdirSync(edgeDir, { recursive: true });
  console.log(`demo: all data in ${dataDir}`);

  // The gateway's identity: its Ed25519 key signs every envelope; the cloud knows the public key.
  await initCrypto();
  const keys = generateSigningKeyPair();
  const keyFile = join(edgeDir, 'gateway.key');
  writeFileSync(keyFile, `${keys.secretKey}\n`, { mode: 0o600 });
  const mqttPassword = keys.publicKey.slice(0, 24).replace(/[^A-Za-z0-9]/g, 'x');

  const cloudCli = cli('cloud', 'wardgate-cloud.mjs');
  const dataArgs = ['--data-dir', cloudDir];
  await runToEnd('cloud', cloudCli, [
    'gateways',
    'add',
    ...dataArgs,
    '--id',
    gatewayId,
    '--public-key',
    keys.publicKey,
    '--password',
    mqttPassword,
  ]);
  await runToEnd('cloud', cloudCli, [
    'seed-demo',
    ...dataArgs,
    '--gateway',
    gatewayId,
    '--beds',
    String(beds),
  ]);
  // Reading the record takes credentials: an API client that may read everything, and a nurse
  // of the ward (who enrols her authenticator app at the first sign-in).
  const added = await runToEnd('cloud', cloudCli, [
    'clients',
    'add',
    ...dataArgs,
    '--name',
    'demo reader',
    '--scopes',
    'system/*.read',
  ]);
  const client = {
    id: /client_id\s+(\S+)/.exec(added)?.[1] ?? '',
    secret: /client_secret\s+(\S+)/.exec(added)?.[1] ?? '',
  };
  const nurse = await runToEnd('cloud', cloudCli, [
    'users',
    'add',
    ...dataArgs,
    '--username',
    'demo.nurse',
    '--role',
    'nurse',
    '--wards',
    gatewayId,
    '--training-completed',
    new Date().toISOString().slice(0, 10),
  ]);
  const nursePassword = /initial password \(shown once\): (\S+)/.exec(nurse)?.[1] ?? '?';
  const telehealthUsers = await addTelehealthUsers(runToEnd, cloudCli, dataArgs);
  // The pharmacy network's stand-in: signed prescriptions go to it as NCPDP SCRIPT NewRx.
  start(
    'pharmacy',
    join(root, 'cloud', 'src', 'telehealth', 'pharmacy-simulator', 'main.ts'),
    ['--port', String(ports.pharmacy), '--host', '127.0.0.1'],
    ['--import', 'tsx'],
  );
  start('cloud', cloudCli, [
    'serve',
    ...dataArgs,
    '--http-port',
    String(ports.cloudHttp),
    '--mqtt-port',
    String(ports.cloudMqtt),
    // Vitals charted every 10 s so the demo shows them soon; a ward charts every 15 minutes.
    '--chart-interval',
    '10',
    '--pharmacy-url',
    `http://127.0.0.1:${ports.pharmacy}/script`,
    '--pharmacy-ncpdp-id',
    DEMO_PHARMACY_NCPDP_ID,
  ]);

  const devicesFile = join(dataDir, 'sim-devices.json');
  start('sim', cli('hardware-sim', 'wardgate-sim.mjs'), [
    '--beds',
    String(beds),
    '--gateway',
    `127.0.0.1:${ports.edgeMllp}`,
    '--scenario',
    'bed-2=deteriorating',
    '--scenario',
    'bed-3=desaturation',
    '--devices-out',
    devicesFile,
  ]);
  const devices = await waitFor('the simulated ward', 30_000, async () =>
    existsSync(devicesFile) ? JSON.parse(readFileSync(devicesFile, 'utf8')) : undefined,
  );

  const configFile = join(edgeDir, 'wardgate-edge.yaml');
  const config = {
    gateway: { id: gatewayId, dataDir: edgeDir },
    cloud: {
      mqttUrl: `mqtt://127.0.0.1:${ports.cloudMqtt}`,
      username: gatewayId,
      password: mqttPassword,
      signingKeyFile: keyFile,
    },
    http: { host: '127.0.0.1', port: ports.edgeHttp },
    mllp: { host: '127.0.0.1', port: ports.edgeMllp },
    devices,
    staff: [DEMO_NURSE],
  };
  writeFileSync(configFile, `# written by npm run demo\n${toYaml(config)}`);
  start('edge', cli('edge', 'wardgate-edge.mjs'), ['run', '--config', configFile]);

  token = await waitFor('the cloud API', 60_000, () => accessToken(client));
  const kinds = ['monitor', 'vent', 'pump', 'oxi'];
  const bundle = await waitFor(
    'Observations from all four device kinds in the cloud',
    90_000,
    async () => {
      const found = await Promise.all(
        kinds.map((k) =>
          fhir(
            `Observation?device=${encodeURIComponent(`Device/${gatewayId}.bed-1-${k}`)}&_count=1`,
          ),
        ),
      );
      return found.every((b) => (b?.total ?? 0) > 0) ? found : undefined;
    },
  );

  const visit = await bookDemoVisit(`http://127.0.0.1:${ports.cloudHttp}`, telehealthUsers);
  // The e-prescribing job sends the signed prescription; the simulator lists what it received.
  const received = await waitFor('the NewRx at the pharmacy simulator', 60_000, async () => {
    const res = await fetch(`http://127.0.0.1:${ports.pharmacy}/prescriptions`);
    const body = (await res.json()) as { prescriptions?: unknown[] };
    return (body.prescriptions?.length ?? 0) > 0 ? body.prescriptions : undefined;
  });
  const patients = await fhir('Patient?_count=10');
  const firstPatient = patients?.entry?.[0]?.resource.id as string | undefined;
  const base = `http://127.0.0.1:${ports.cloudHttp}/fhir/R4`;
  console.log(`
demo: the ward is live.
  nurse alarm screen  http://127.0.0.1:${ports.edgeHttp}/   (acknowledge/silence: badge ${DEMO_NURSE.badge}, PIN ${DEMO_NURSE.pin})
  biomed page         http://127.0.0.1:${ports.edgeHttp}/biomed
  cloud FHIR API      ${base}/metadata
  active alarms       http://127.0.0.1:${ports.cloudHttp}/api/alarms/active?gateway=${gatewayId}
  clinical alerts     http://127.0.0.1:${ports.cloudHttp}/api/alerts   (critical charted values)
  patients            ${base}/Patient
  gateway health      http://127.0.0.1:${ports.edgeHttp}/health
  gateway metrics     http://127.0.0.1:${ports.edgeHttp}/metrics
  data folder         ${dataDir}

Every cloud API call needs a bearer token. The demo's API client (read-only, system/*.read):
  client_id ${client.id}   client_secret ${client.secret}
A token (valid 5 minutes), then the latest charted SpO2 of the first patient (LOINC 59408-5):
  TOKEN=$(curl -s ${base.replace('/fhir/R4', '')}/api/auth/token -d grant_type=client_credentials -d client_id=${client.id} -d client_secret=${client.secret} | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')
  curl -s -H "Authorization: Bearer $TOKEN" '${base}/Observation?patient=${firstPatient ?? '<id>'}&code=http://loinc.org|59408-5&_sort=-date&_count=5'
A nurse of the ward signs in at POST /api/auth/login: demo.nurse / ${nursePassword}
(then enrols TOTP: POST /api/auth/mfa/enrol, /api/auth/mfa/activate). Vitals are charted every
10 s, preliminary until a nurse validates them (POST /api/chart/validate).

A telehealth visit is booked for ${visit.start} (joinable from 15 minutes before):
  visit page          http://127.0.0.1:${ports.cloudHttp}/telehealth/visit/${visit.appointmentId}
  patient             ${DEMO_PATIENT} / ${telehealthUsers.patientPassword}   (open the page in one browser)
  doctor              ${DEMO_DOCTOR} / ${telehealthUsers.doctorPassword}   (in another; admits the patient)
  doctor's 2nd factor TOTP secret ${visit.totpSecret} (add ${visit.otpauthUri} to an authenticator app,
                      or: oathtool --totp -b ${visit.totpSecret})
  prescription        signed in the visit (lisinopril 10 mg), sent as NCPDP SCRIPT NewRx: the
                      pharmacy simulator received ${received.length} at http://127.0.0.1:${ports.pharmacy}/prescriptions

Bed 2 is deteriorating; bed 3 desaturates after 20 s (a high-priority SpO2 alarm). Ctrl-C stops everything.
`);
  if (flags.smoke) {
    console.log(
      `demo: smoke check passed (${bundle.map((b, i) => `${kinds[i]} ${b?.total}`).join(', ')})`,
    );
    await shutdown(0);
  }
}

main().catch(async (e) => {
  console.error(`demo: ${(e as Error).message}`);
  await shutdown(1);
});
