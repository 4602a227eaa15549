import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initCaDir, issueFromCaDir } from '../src/tls/ca-dir.ts';
import { parseHosts } from '../src/tls/hosts.ts';
import { loadTlsCredentials, tlsServerOptions } from '../src/tls/server-tls.ts';
import { createCertificateAuthority } from '../src/tls/x509.ts';

const BIN = fileURLToPath(new URL('../bin/wardgate-cloud.mjs', import.meta.url));
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-tls-ca-'));
  dirs.push(dir);
  return dir;
};

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A TLS server on port 0 with the given certificate; resolves with its port and a closer. */
async function tlsServer(certFile: string, keyFile: string) {
  const server = createServer(
    tlsServerOptions(loadTlsCredentials({ cert: certFile, key: keyFile })),
    (socket) => socket.end('hello'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Connects trusting `ca`; resolves with the server's greeting or rejects with the TLS error. */
function handshake(port: number, ca: string, servername?: string) {
  return new Promise<string>((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca, servername }, () => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('end', () => resolve(text));
    });
    socket.on('error', reject);
  });
}

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected the handshake to fail');
};

test('parseHosts splits names from addresses and refuses what is neither', () => {
  assert.equal(parseHosts('localhost, 127.0.0.1,[::1],Ward.Example.org,localhost'), {
    dns: ['localhost', 'ward.example.org'],
    ips: ['127.0.0.1', '::1'],
  });
  assert.throws(() => parseHosts('good,bad host'), /"bad host" is neither/);
  assert.throws(() => parseHosts(' , '), /at least one/);
});

test('ca init: a P-256 CA and a server certificate for the hosts, keys 0600', async () => {
  const dir = tempDir();
  const made = await initCaDir({ dir, hosts: parseHosts('localhost,127.0.0.1,::1') });
  const ca = new X509Certificate(readFileSync(made.caCertFile));
  const server = new X509Certificate(readFileSync(made.server.certFile));
  assert.ok(ca.ca, 'the CA certificate is a CA');
  assert.not.ok(server.ca, 'the server certificate is not');
  assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey), 'the CA signed the server');
  assert.is(server.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.match(server.subjectAltName ?? '', /^DNS:localhost, IP Address:127\.0\.0\.1, IP Address:/);
  assert.ok(server.checkHost('localhost') && server.checkIP('127.0.0.1') && server.checkIP('::1'));
  assert.not.ok(server.checkHost('elsewhere.example'));
  assert.equal(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage serverAuth');
  const days = (Date.parse(server.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 396 && days < 398, `server valid ~397 days, got ${days}`);
  for (const file of [made.caKeyFile, made.server.keyFile])
    assert.is(statSync(file).mode & 0o777, 0o600, file);
  // The CA key is written first and must be a key, not a certificate, and never overwritten.
  assert.match(readFileSync(made.caKeyFile, 'utf8'), '-----BEGIN PRIVATE KEY-----');
  try {
    await initCaDir({ dir, hosts: parseHosts('localhost') });
    assert.unreachable('a second init must not overwrite the CA');
  } catch (error) {
    assert.match((error as Error).message, /already exist/);
  }
});

test("node's TLS verifies the chain for the certificate's hosts, and only for them", async () => {
  const dir = tempDir();
  const made = await initCaDir({ dir, hosts: parseHosts('localhost,127.0.0.1') });
  const caPem = readFileSync(made.caCertFile, 'utf8');
  const server = await tlsServer(made.server.certFile, made.server.keyFile);
  try {
    assert.is(await handshake(server.port, caPem), 'hello', 'by IP address');
    assert.is(await handshake(server.port, caPem, 'localhost'), 'hello', 'by name');
    const wrongName = await rejection(handshake(server.port, caPem, 'elsewhere.example'));
    assert.is(wrongName.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    const stranger = await createCertificateAuthority();
    const untrusted = await rejection(handshake(server.port, stranger.certPem));
    // server.crt carries the chain, so the unknown CA shows up as a self-signed one in it.
    assert.is(untrusted.code, 'SELF_SIGNED_CERT_IN_CHAIN');
  } finally {
    await server.close();
  }
});

test('ca issue: another server certificate from the same CA', async () => {
  const dir = tempDir();
  const made = await initCaDir({ dir, hosts: parseHosts('localhost') });
  const issued = await issueFromCaDir({ dir, name: 'broker', hosts: parseHosts('127.0.0.1') });
  assert.is(statSync(issued.keyFile).mode & 0o777, 0o600);
  const server = await tlsServer(issued.certFile, issued.keyFile);
  try {
    assert.is(await handshake(server.port, readFileSync(made.caCertFile, 'utf8')), 'hello');
  } finally {
    await server.close();
  }
  try {
    await issueFromCaDir({ dir: tempDir(), name: 'x', hosts: parseHosts('localhost') });
    assert.unreachable('no CA there');
  } catch (error) {
    assert.match((error as Error).message, /run `ca init/);
  }
});

test('loadTlsCredentials: clear errors for a missing file and a key of another certificate', async () => {
  const dir = tempDir();
  const made = await initCaDir({ dir, hosts: parseHosts('localhost') });
  assert.throws(
    () => loadTlsCredentials({ cert: join(dir, 'nope.crt'), key: made.server.keyFile }),
    /TLS certificate .*nope\.crt: no such file/,
  );
  assert.throws(
    () => loadTlsCredentials({ cert: made.server.certFile, key: made.server.certFile }),
    /not a PEM key/,
  );
  assert.throws(
    () => loadTlsCredentials({ cert: made.server.certFile, key: made.caKeyFile }),
    /do not work together/,
  );
  const inline = loadTlsCredentials({
    cert: readFileSync(made.server.certFile, 'utf8'),
    key: readFileSync(made.server.keyFile, 'utf8'),
  });
  assert.match(inline.cert, '-----BEGIN CERTIFICATE-----');
});

function cli(...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('wardgate-cloud ca init / ca issue end to end', async () => {
  const dir = join(tempDir(), 'pki');
  const init = await cli('ca', 'init', '--dir', dir, '--hosts', 'localhost,127.0.0.1');
  assert.is(init.code, 0, init.stderr);
  assert.match(
    init.stdout,
    `serve with: wardgate-cloud serve --tls-cert ${join(dir, 'server.crt')}`,
  );
  assert.is(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
  assert.is(statSync(dir).mode & 0o777, 0o700);
  const server = new X509Certificate(readFileSync(join(dir, 'server.crt')));
  assert.ok(server.checkIP('127.0.0.1') && server.checkHost('localhost'));

  const again = await cli('ca', 'init', '--dir', dir, '--hosts', 'localhost');
  assert.is(again.code, 1);
  assert.match(again.stderr, 'already exist');

  const issue = await cli('ca', 'issue', '--dir', dir, '--name', 'mqtt', '--hosts', 'broker.ward');
  assert.is(issue.code, 0, issue.stderr);
  const mqtt = new X509Certificate(readFileSync(join(dir, 'mqtt.crt')));
  assert.is(mqtt.checkHost('broker.ward'), 'broker.ward');

  const badHosts = await cli('ca', 'init', '--dir', tempDir(), '--hosts', 'not a host');
  assert.is(badHosts.code, 2);
  assert.match(badHosts.stderr, '--hosts: "not a host" is neither');
  const noAction = await cli('ca');
  assert.is(noAction.code, 2);
  assert.match(noAction.stderr, 'ca: init or issue?');
  assert.match(noAction.stderr, 'ca init --dir D --hosts');
});

test('wardgate-cloud serve --tls-cert/--tls-key answers https:// trusting the CA', async () => {
  const dir = tempDir();
  const made = await initCaDir({ dir: join(dir, 'pki'), hosts: parseHosts('127.0.0.1') });
  const lonely = await cli('serve', '--tls-cert', made.server.certFile, '--http-port', '0');
  assert.is(lonely.code, 2);
  assert.match(lonely.stderr, '--tls-cert and --tls-key');

  const { DATABASE_URL: _ignored, ...env } = process.env;
  const child = spawn(
    process.execPath,
    [
      BIN,
      ...['serve', '--data-dir', join(dir, 'data'), '--http-port', '0', '--mqtt-port', '0'],
      ...['--tls-cert', made.server.certFile, '--tls-key', made.server.keyFile],
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    let stdout = '';
    const urls = await new Promise<{ http: string; mqtt: string }>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        const http = /^http (\S+)/m.exec(stdout)?.[1];
        const mqtt = /^mqtt (\S+)/m.exec(stdout)?.[1];
        if (http && mqtt) resolve({ http, mqtt });
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stdout}`)));
    });
    assert.match(urls.http, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(urls.mqtt, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        `${urls.http}/health`,
        { ca: readFileSync(made.caCertFile) },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.is(status, 200);
  } finally {
    child.kill('SIGTERM');
    assert.is(await exited, 0, 'a clean stop on SIGTERM');
  }
});

test.run();
