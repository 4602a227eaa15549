import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureVersion } from 'node:tls';

/** Certificate (with its chain) and private key: each a PEM text or the path of a PEM file. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** The certificate chain and key as PEM texts, checked to belong together. */
export interface TlsCredentials {
  cert: string;
  key: string;
}

/** TLS 1.0 and 1.1 are deprecated (RFC 8996). */
export const TLS_MIN_VERSION: SecureVersion = 'TLSv1.2';
/** A client that has not finished its handshake by then is dropped (node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

function pemText(value: string, what: string, marker: RegExp): string {
  let text = value;
  if (!value.includes('-----BEGIN')) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'no such file'
          : (error as Error).message;
      throw new Error(`TLS ${what} ${value}: ${reason}`);
    }
  }
  if (!marker.test(text))
    throw new Error(
      `TLS ${what} ${value.includes('-----BEGIN') ? '(inline)' : value}: not a PEM ${what}`,
    );
  return text;
}

/** Reads the PEM files (or texts) and checks that the key is the certificate's. */
export function loadTlsCredentials(files: TlsFiles): TlsCredentials {
  const cert = pemText(files.cert, 'certificate', /-----BEGIN CERTIFICATE-----/);
  const key = pemText(files.key, 'key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(`TLS certificate and key do not work together: ${(error as Error).message}`);
  }
  return { cert, key };
}

/** Options for node:https / node:tls servers with our floor on protocol and handshake time. */
export function tlsServerOptions(credentials: TlsCredentials) {
  return {
    cert: credentials.cert,
    key: credentials.key,
    minVersion: TLS_MIN_VERSION,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
}
