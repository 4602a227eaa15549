import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CertificateHosts } from './hosts.ts';
import { createCertificateAuthority, issueServerCertificate, type PemPair } from './x509.ts';

/** What a CA folder holds: the CA pair and, per issued name, `<name>.crt` and `<name>.key`. */
export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';

export interface IssuedFiles {
  certFile: string;
  keyFile: string;
}

export interface CaInitResult {
  caCertFile: string;
  caKeyFile: string;
  server: IssuedFiles;
}

const SERVER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

/** Certificates may be read by anyone; private keys only by their owner. */
function writeNew(file: string, text: string, mode: 0o600 | 0o644): void {
  // `wx`: never overwrite a key or certificate that is already in use.
  writeFileSync(file, text, { mode, flag: 'wx' });
}

function issuedFiles(dir: string, name: string): IssuedFiles {
  if (!SERVER_NAME.test(name) || name === 'ca')
    throw new Error(
      `"${name}" cannot name a certificate (letters, digits, ".", "_", "-"; not "ca")`,
    );
  return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
}

function refuseExisting(files: string[]): void {
  const present = files.filter((file) => existsSync(file));
  if (present.length > 0)
    throw new Error(
      `${present.join(', ')} already exist${present.length === 1 ? 's' : ''}: move them away first`,
    );
}

async function writeServerPair(
  ca: PemPair,
  files: IssuedFiles,
  hosts: CertificateHosts,
  days: number | undefined,
): Promise<void> {
  const server = await issueServerCertificate({ ca, hosts, days });
  writeNew(files.keyFile, server.keyPem, 0o600);
  // The chain (server, then CA) so clients that only know the CA can build it from one file.
  writeNew(files.certFile, server.certPem + ca.certPem, 0o644);
}

/**
 * A local certificate authority in `dir` (ca.crt, ca.key) and a server certificate for `hosts`
 * signed by it (server.crt with the chain, server.key). Refuses to overwrite any of them.
 */
export async function initCaDir(options: {
  dir: string;
  hosts: CertificateHosts;
  caDays?: number;
  serverDays?: number;
}): Promise<CaInitResult> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCertFile = join(dir, CA_CERT_FILE);
  const caKeyFile = join(dir, CA_KEY_FILE);
  const server = issuedFiles(dir, 'server');
  refuseExisting([caCertFile, caKeyFile, server.certFile, server.keyFile]);
  const ca = await createCertificateAuthority({ days: options.caDays });
  writeNew(caKeyFile, ca.keyPem, 0o600);
  writeNew(caCertFile, ca.certPem, 0o644);
  await writeServerPair(ca, server, options.hosts, options.serverDays);
  return { caCertFile, caKeyFile, server };
}

/** Another server certificate (`<name>.crt`, `<name>.key`) from the CA already in `dir`. */
export async function issueFromCaDir(options: {
  dir: string;
  name: string;
  hosts: CertificateHosts;
  days?: number;
}): Promise<IssuedFiles> {
  const dir = resolve(options.dir);
  const files = issuedFiles(dir, options.name);
  const read = (file: string) => {
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch {
      throw new Error(
        `${join(dir, file)} cannot be read: run \`ca init --dir ${options.dir}\` first`,
      );
    }
  };
  const ca = { certPem: read(CA_CERT_FILE), keyPem: read(CA_KEY_FILE) };
  refuseExisting([files.certFile, files.keyFile]);
  await writeServerPair(ca, files, options.hosts, options.days);
  return files;
}
