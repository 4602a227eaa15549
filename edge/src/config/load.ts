import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type DeviceProfile, loadProfile } from '@wardgate/shared';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { EdgeConfig } from './schema.ts';

export interface ConfigProblem {
  /** Dotted path of the field, e.g. devices[2].port. */
  field: string;
  message: string;
  /** 1-based line in the config file, where the field (or its nearest parent) is written. */
  line?: number;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly problems: ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[]) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems
          .map((p) => `  ${p.line ? `line ${p.line}: ` : ''}${p.field || '(top)'}: ${p.message}`)
          .join('\n'),
    );
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

export interface LoadedConfig {
  file: string;
  config: EdgeConfig;
  /** Absolute paths, resolved against the config file's folder. */
  dataDir: string;
  signingKeyFile: string;
  /** cloud.caFile made absolute, and its PEM text (trusted for mqtts:// and enrollment). */
  caFile?: string;
  ca?: string;
  /** The profile of every modbus device, by device id. */
  profiles: Map<string, DeviceProfile>;
}

const fieldName = (path: PropertyKey[]) =>
  path.reduce<string>(
    (out, key) =>
      typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key),
    '',
  );

/** Reads, parses and validates a gateway config; every problem is reported with its line. */
export function loadConfig(file: string): LoadedConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ field: '', message: (error as Error).message }]);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, path: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      path,
      doc.errors.map((e) => ({
        field: '',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
        line: lineCounter.linePos(e.pos[0]).line,
      })),
    );

  const lineOf = (fieldPath: PropertyKey[]): number | undefined => {
    for (let n = fieldPath.length; n >= 0; n--) {
      const node = doc.getIn(fieldPath.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const problem = (fieldPath: PropertyKey[], message: string): ConfigProblem => ({
    field: fieldName(fieldPath),
    message,
    line: lineOf(fieldPath),
  });

  const parsed = EdgeConfig.safeParse(doc.toJS());
  if (!parsed.success)
    throw new ConfigError(
      path,
      parsed.error.issues.map((issue: z.core.$ZodIssue) =>
        problem(issue.path, describeIssue(issue)),
      ),
    );
  const config = parsed.data;

  const profiles = new Map<string, DeviceProfile>();
  const problems: ConfigProblem[] = [];
  config.devices.forEach((device, index) => {
    if (device.driver !== 'modbus-tcp') return;
    try {
      const profile = loadProfile(device.profile);
      if (profile.kind !== device.kind)
        problems.push(
          problem(
            ['devices', index, 'profile'],
            `profile "${device.profile}" is for a ${profile.kind}, but the device is a ${device.kind}`,
          ),
        );
      profiles.set(device.id, profile);
    } catch (error) {
      problems.push(problem(['devices', index, 'profile'], (error as Error).message));
    }
  });

  const base = dirname(path);
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  let ca: string | undefined;
  const caFile = config.cloud.caFile === undefined ? undefined : absolute(config.cloud.caFile);
  if (caFile) {
    const scheme = config.cloud.mqttUrl.split(':')[0];
    if (!TLS_SCHEMES.has(scheme))
      problems.push(
        problem(
          ['cloud', 'mqttUrl'],
          `caFile is set but the URL is ${scheme}://: use mqtts:// (or wss://) so the CA is used`,
        ),
      );
    try {
      ca = readCaFile(caFile);
    } catch (error) {
      problems.push(problem(['cloud', 'caFile'], (error as Error).message));
    }
  }
  if (problems.length > 0) throw new ConfigError(path, problems);

  return {
    file: path,
    config,
    dataDir: absolute(config.gateway.dataDir),
    signingKeyFile: absolute(config.cloud.signingKeyFile),
    ...(caFile ? { caFile, ca } : {}),
    profiles,
  };
}

const TLS_SCHEMES = new Set(['mqtts', 'ssl', 'wss']);

/**
 * The CA certificate(s) in a PEM file, checked to be certificates that are valid now, so a wrong
 * or expired file is reported here rather than as a TLS failure at every reconnect.
 */
export function readCaFile(file: string, now = Date.now()): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error(`${file}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  for (const block of blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch (error) {
      throw new Error(`${file}: not a readable certificate: ${(error as Error).message}`);
    }
    if (!cert.ca)
      throw new Error(
        `${file}: ${cert.subject.replace(/\n/g, ', ')} is not a CA certificate (give the CA's, e.g. ca.crt, not the server's)`,
      );
    if (Date.parse(cert.validTo) < now)
      throw new Error(`${file}: the CA certificate expired on ${cert.validTo}`);
    if (Date.parse(cert.validFrom) > now)
      throw new Error(`${file}: the CA certificate is not valid before ${cert.validFrom}`);
  }
  return text;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_union':
      return issue.message.includes('discriminator')
        ? 'driver must be one of hl7-mllp, modbus-tcp, serial-tcp, serial'
        : issue.message;
    default:
      return issue.message;
  }
}
