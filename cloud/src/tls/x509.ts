// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CertificateHosts } from './hosts.ts';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { ...ECDSA_P256, hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Certificates start a little in the past so a machine whose clock lags still accepts them. */
const BACKDATE_MS = 5 * 60_000;

/** Ten years: the local CA is made once per install and copied to every gateway. */
export const DEFAULT_CA_DAYS = 3650;
/** The 398-day ceiling browsers put on server certificates, less a day. */
export const DEFAULT_SERVER_DAYS = 397;

/** A certificate and its private key, both PEM (key as PKCS#8). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CaParams {
  commonName?: string;
  days?: number;
  now?: Date;
}

export interface ServerCertParams {
  ca: PemPair;
  hosts: CertificateHosts;
  commonName?: string;
  days?: number;
  now?: Date;
}

/** A positive 128-bit serial (RFC 5280 allows up to 20 octets; the high bit must be clear). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x10;
  return bytes.toString('hex');
}

function validity(now: Date, days: number) {
  if (!Number.isInteger(days) || days < 1 || days > 36_500)
    throw new Error(`validity must be a whole number of days from 1 to 36500, got ${days}`);
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
}

/** PEM text ending in a newline, so files can be concatenated into a chain. */
const pemLine = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return pemLine(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

/** The CA's signing key from PEM (PKCS#8 or SEC1 "EC PRIVATE KEY"); it must be ECDSA P-256. */
async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new Error('the CA key must be an ECDSA P-256 key');
    der = key.export({ type: 'pkcs8', format: 'der' });
  } catch (error) {
    throw new Error(`the CA key cannot be read: ${(error as Error).message}`);
  }
  return crypto.subtle.importKey('pkcs8', new Uint8Array(der), ECDSA_P256, false, ['sign']);
}

/** A self-signed certificate authority: CA:true (path length 0), keyCertSign and cRLSign. */
export async function createCertificateAuthority(params: CaParams = {}): Promise<PemPair> {
  const keys = (await crypto.subtle.generateKey(ECDSA_P256, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const name: x509.JsonName = [
    { CN: [params.commonName ?? 'wardgate local CA'] },
    { O: ['wardgate'] },
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    ...validity(params.now ?? new Date(), params.days ?? DEFAULT_CA_DAYS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      // Path length 0: this CA signs server certificates, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pemLine(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * A TLS server certificate signed by `ca`, valid for `hosts` (subjectAltName DNS and IP entries),
 * with its own fresh P-256 key.
 */
export async function issueServerCertificate(params: ServerCertParams): Promise<PemPair> {
  const { hosts } = params;
  if (hosts.dns.length + hosts.ips.length === 0)
    throw new Error('a server certificate needs at least one host name or IP address');
  let caCert: x509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(params.ca.certPem);
  } catch (error) {
    throw new Error(`the CA certificate cannot be read: ${(error as Error).message}`);
  }
  const signingKey = await importSigningKey(params.ca.keyPem);
  const keys = (await crypto.subtle.generateKey(ECDSA_P256, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const names = [
    ...hosts.dns.map((value) => ({ type: 'dns' as const, value })),
    ...hosts.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [
      { CN: [params.commonName ?? hosts.dns[0] ?? hosts.ips[0]] },
      { O: ['wardgate'] },
    ] as x509.JsonName,
    issuer: caCert.subject,
    ...validity(params.now ?? new Date(), params.days ?? DEFAULT_SERVER_DAYS),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: pemLine(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) };
}
