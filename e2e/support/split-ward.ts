// A ward laid out as in production for benchmarks: the cloud and the simulated devices each run in
// their own process (from their CLIs); only the gateway runs in the measuring process.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@wardgate/edge/src/config/load.ts';
import { type RunningHttp, serveGateway } from '@wardgate/edge/src/http/app.ts';
import { Gateway } from '@wardgate/edge/src/runtime/gateway.ts';
import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { freePort } from '@wardgate/shared/testing';
import { stringify } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = (pkg: string, bin: string) => join(root, pkg, 'bin', bin);
const CLOUD = cli('cloud', 'wardgate-cloud.mjs');
const SIM = cli('hardware-sim', 'wardgate-sim.mjs');
const BUILD = join(root, 'scripts', 'build.mjs');

/**
 * The gateway child is started as systemd starts it: the production bundle with the node flags of
 * the unit's ExecStart line (a bin could pick tsx, and flags change the memory footprint).
 */
function productionEdgeCommand(): string[] {
  const unit = readFileSync(join(root, 'systemd', 'wardgate-edge.service'), 'utf8');
  const line =
    /^ExecStart=\S+((?:\s+--\S+)*)\s+\/opt\/wardgate\/(edge\/dist\/wardgate-edge\.mjs)\s/m.exec(
      unit,
    );
  if (!line)
    throw new Error('wardgate-edge.service: no ExecStart running edge/dist/wardgate-edge.mjs');
  return [...line[1].split(/\s+/).filter(Boolean), join(root, line[2])];
}

export interface SplitWard {
  /** The gateway when it runs in this process; null when it runs in its own (gatewayProcess). */
  gateway: Gateway | null;
  gatewayProcess: ChildProcess | null;
  gatewayUrl: string;
  beds: string[];
  stop(): Promise<void>;
}

function runOnce(args: string[]) {
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
}

/** Starts a long-running CLI and resolves with the first output line matching `ready`. */
function startProcess(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = ready.exec(output);
      if (match) {
        child.stdout?.off('data', onData);
        resolve({ child, match });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${output}`)));
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function startSplitWard(options: {
  beds: number;
  gatewayId?: string;
  /** Run the gateway from its CLI in its own process too (to measure that process alone). */
  gatewayInChild?: boolean;
}): Promise<SplitWard> {
  await initCrypto();
  const gatewayId = options.gatewayId ?? 'ward-bench';
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-split-'));
  const children: ChildProcess[] = [];
  let gateway: Gateway | null = null;
  let http: RunningHttp | null = null;
  const stop = async () => {
    await http?.close();
    await gateway?.stop();
    await Promise.all(children.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keys = generateSigningKeyPair();
    const cloudData = ['--data-dir', join(dir, 'cloud')];
    runOnce([
      CLOUD,
      'gateways',
      'add',
      ...cloudData,
      '--id',
      gatewayId,
      '--public-key',
      keys.publicKey,
      '--password',
      'split-secret',
    ]);
    runOnce([
      CLOUD,
      'seed-demo',
      ...cloudData,
      '--gateway',
      gatewayId,
      '--beds',
      String(options.beds),
    ]);
    const cloud = await startProcess(
      [CLOUD, 'serve', ...cloudData, '--http-port', '0', '--mqtt-port', '0'],
      /^mqtt (mqtt:\/\/\S+)$/m,
    );
    children.push(cloud.child);

    const mllpPort = await freePort();
    const devicesFile = join(dir, 'devices.json');
    const sim = await startProcess(
      [
        SIM,
        '--beds',
        String(options.beds),
        '--gateway',
        `127.0.0.1:${mllpPort}`,
        '--devices-out',
        devicesFile,
      ],
      /beds running/,
    );
    children.push(sim.child);
    if (!existsSync(devicesFile)) throw new Error('the simulator wrote no devices file');

    const keyFile = join(dir, 'gateway.key');
    writeFileSync(keyFile, `${keys.secretKey}\n`);
    const configFile = join(dir, 'edge.yaml');
    writeFileSync(
      configFile,
      stringify({
        gateway: { id: gatewayId, dataDir: join(dir, 'edge') },
        cloud: { mqttUrl: cloud.match[1], password: 'split-secret', signingKeyFile: keyFile },
        mllp: { host: '127.0.0.1', port: mllpPort },
        devices: JSON.parse(readFileSync(devicesFile, 'utf8')),
      }),
    );
    const beds = Array.from({ length: options.beds }, (_, i) => `bed-${i + 1}`);
    if (options.gatewayInChild) {
      runOnce([BUILD, '--if-stale']);
      const httpPort = await freePort();
      const edge = await startProcess(
        [...productionEdgeCommand(), 'run', '--config', configFile],
        /HTTP on (http:\/\/\S+)/,
        {
          ...process.env,
          EDGE_HTTP_PORT: String(httpPort),
        },
      );
      children.unshift(edge.child);
      return { gateway: null, gatewayProcess: edge.child, gatewayUrl: edge.match[1], beds, stop };
    }
    gateway = await Gateway.start(loadConfig(configFile), () => {});
    http = await serveGateway(gateway, '127.0.0.1', 0);
    return {
      gateway,
      gatewayProcess: null,
      gatewayUrl: `http://127.0.0.1:${http.port}`,
      beds,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
