import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEnrollment } from '../src/gateways/enrollment.ts';
import { HSTS_VALUE } from '../src/http/security-headers.ts';
import { type Cloud, startCloud } from '../src/server.ts';
import { initCaDir } from '../src/tls/ca-dir.ts';
import { parseHosts } from '../src/tls/hosts.ts';
import { createCertificateAuthority } from '../src/tls/x509.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// TLS sits in front of the database: one target is enough.
const [target] = testDatabaseTargets();
const dir = mkdtempSync(join(tmpdir(), 'wardgate-tls-https-'));
let cloud: Cloud;
let caPem: string;
let certFile: string;
let keyFile: string;

test.before(async () => {
  const made = await initCaDir({ dir, hosts: parseHosts('localhost,127.0.0.1') });
  caPem = readFileSync(made.caCertFile, 'utf8');
  ({ certFile, keyFile } = made.server);
  cloud = await startCloud({
    database: await target.open(),
    httpPort: 0,
    mqttPort: 0,
    tls: { cert: certFile, key: keyFile },
  });
});

test.after(async () => {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An https request trusting `ca` (node's fetch cannot be given a CA). */
function https(
  path: string,
  options: { ca: string; method?: string; json?: unknown; host?: string },
): Promise<Answer> {
  const url = new URL(path, cloud.httpUrl);
  if (options.host) url.hostname = options.host;
  const data = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        headers: data ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const failure = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { code?: string; cause?: { code?: string } };
    return e.cause?.code ?? e.code ?? e.message;
  }
  throw new Error('expected the request to fail');
};

test('the cloud serves https:// and mqtts://; a client trusting the CA gets /health with HSTS', async () => {
  assert.match(cloud.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(cloud.mqttUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
  for (const host of ['127.0.0.1', 'localhost']) {
    const health = await https('/health', { ca: caPem, host });
    assert.is(health.status, 200, host);
    assert.is(health.headers['strict-transport-security'], HSTS_VALUE);
    assert.is(health.headers['x-content-type-options'], 'nosniff');
  }
});

test('enrollment over https hands out the mqtts:// URL', async () => {
  const { token } = await createEnrollment(cloud.database.db, { gatewayId: 'ward-https' });
  const enrolled = await https('/api/enroll', {
    ca: caPem,
    method: 'POST',
    json: { token, publicKey: Buffer.alloc(32, 7).toString('base64') },
  });
  assert.is(enrolled.status, 200, enrolled.body);
  assert.is((JSON.parse(enrolled.body) as { mqttUrl: string }).mqttUrl, cloud.mqttUrl);
});

test('clients not trusting the CA are refused; plain HTTP to the port fails', async () => {
  // Node's fetch trusts only the system CAs.
  assert.is(await failure(fetch(`${cloud.httpUrl}/health`)), 'SELF_SIGNED_CERT_IN_CHAIN');
  const stranger = await createCertificateAuthority();
  assert.is(await failure(https('/health', { ca: stranger.certPem })), 'SELF_SIGNED_CERT_IN_CHAIN');
  const plain = await failure(fetch(`${cloud.httpUrl.replace('https:', 'http:')}/health`));
  assert.ok(
    ['ECONNRESET', 'UND_ERR_SOCKET', 'fetch failed'].includes(plain),
    `plain HTTP refused (${plain})`,
  );
});

test('TLS 1.2 is the floor: a TLS 1.1 client is refused, TLS 1.2 and 1.3 accepted', async () => {
  const port = Number(new URL(cloud.httpUrl).port);
  const handshake = (
    minVersion: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3',
    maxVersion: typeof minVersion | 'TLSv1.1',
  ) =>
    new Promise<string>((resolve, reject) => {
      const socket = connectTls(
        // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal is the server's.
        {
          host: '127.0.0.1',
          port,
          ca: caPem,
          minVersion,
          maxVersion,
          ciphers: 'DEFAULT@SECLEVEL=0',
        },
        () => {
          const version = socket.getProtocol() ?? '';
          socket.end();
          resolve(version);
        },
      );
      socket.on('error', reject);
    });
  assert.is(await handshake('TLSv1.2', 'TLSv1.2'), 'TLSv1.2');
  assert.is(await handshake('TLSv1.3', 'TLSv1.3'), 'TLSv1.3');
  const old = await failure(handshake('TLSv1', 'TLSv1.1'));
  // The server's alert: this client would have spoken TLS 1.1.
  assert.is(old, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
});

test('a missing certificate file stops the start with a clear error', async () => {
  try {
    await startCloud({
      database: await target.open(),
      httpPort: 0,
      mqttPort: 0,
      tls: { cert: join(dir, 'missing.crt'), key: keyFile },
    });
    assert.unreachable('the cloud must not start');
  } catch (error) {
    assert.match(
      (error as Error).message,
      `TLS certificate ${join(dir, 'missing.crt')}: no such file`,
    );
  }
});

test.run();
