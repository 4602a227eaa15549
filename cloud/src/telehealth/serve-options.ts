import type { TelehealthOptions } from './options.ts';
import type { IceServer } from './video/options.ts';

/** `wardgate-cloud serve` options of telehealth (each also read from the environment). */
export const TELEHEALTH_SERVE_OPTIONS = {
  'smtp-url': { type: 'string' },
  'mail-from': { type: 'string' },
  'sms-url': { type: 'string' },
  'sms-from': { type: 'string' },
  'pharmacy-url': { type: 'string' },
  'pharmacy-ncpdp-id': { type: 'string' },
  'ice-server': { type: 'string', multiple: true },
} as const;

export const TELEHEALTH_SERVE_USAGE = `      [--smtp-url smtp://HOST:PORT --mail-from ADDRESS]
      Appointment reminders by e-mail through this SMTP relay (SMTP_URL, MAIL_FROM; smtps:// for
      TLS; user:password@ in the URL when the relay wants a login).
      [--sms-url URL --sms-from NUMBER]
      Reminders by SMS through this provider API, key in SMS_API_KEY (SMS_URL, SMS_FROM).
      [--pharmacy-url URL] [--pharmacy-ncpdp-id ID]
      Signed prescriptions go to this NCPDP SCRIPT endpoint as NewRx (PHARMACY_URL); without it
      they wait, pending. The pharmacy a prescription names when the doctor names none: its
      7-digit NCPDP id (PHARMACY_NCPDP_ID).
      [--ice-server stun:HOST:PORT|turn:HOST:PORT ...]
      STUN/TURN servers the video visit pages use (ICE_SERVERS, comma separated); TURN
      credentials from TURN_USERNAME and TURN_CREDENTIAL.`;

type Values = {
  'smtp-url'?: string;
  'mail-from'?: string;
  'sms-url'?: string;
  'sms-from'?: string;
  'pharmacy-url'?: string;
  'pharmacy-ncpdp-id'?: string;
  'ice-server'?: string[];
};

/** Telehealth settings from serve's flags and the environment; a wrong one throws `usageError`. */
export function telehealthServeOptions(
  values: Values,
  env: NodeJS.ProcessEnv,
  usageError: (message: string) => Error,
): TelehealthOptions {
  const pick = (flag: keyof Values, variable: string) =>
    (values[flag] as string | undefined) ?? (env[variable] || undefined);
  const options: TelehealthOptions = { reminders: {} };
  const smtpUrl = pick('smtp-url', 'SMTP_URL');
  const mailFrom = pick('mail-from', 'MAIL_FROM');
  if (smtpUrl || mailFrom) {
    if (!smtpUrl || !mailFrom)
      throw usageError('--smtp-url and --mail-from (SMTP_URL, MAIL_FROM) go together');
    checkUrl(smtpUrl, ['smtp:', 'smtps:'], '--smtp-url', usageError);
    options.reminders = { ...options.reminders, smtp: { url: smtpUrl, from: mailFrom } };
  }
  const smsUrl = pick('sms-url', 'SMS_URL');
  const smsFrom = pick('sms-from', 'SMS_FROM');
  if (smsUrl || smsFrom) {
    const apiKey = env.SMS_API_KEY;
    if (!smsUrl || !smsFrom || !apiKey)
      throw usageError('--sms-url and --sms-from (SMS_URL, SMS_FROM) need SMS_API_KEY too');
    checkUrl(smsUrl, ['http:', 'https:'], '--sms-url', usageError);
    options.reminders = { ...options.reminders, sms: { url: smsUrl, apiKey, from: smsFrom } };
  }
  const pharmacyUrl = pick('pharmacy-url', 'PHARMACY_URL');
  if (pharmacyUrl) checkUrl(pharmacyUrl, ['http:', 'https:'], '--pharmacy-url', usageError);
  const ncpdpId = pick('pharmacy-ncpdp-id', 'PHARMACY_NCPDP_ID');
  if (ncpdpId !== undefined && !/^\d{7}$/.test(ncpdpId))
    throw usageError(`--pharmacy-ncpdp-id: "${ncpdpId}" is not a 7-digit NCPDP id`);
  if (pharmacyUrl || ncpdpId) options.pharmacy = { url: pharmacyUrl, ncpdpId };
  const iceUrls =
    values['ice-server'] ??
    (env.ICE_SERVERS ? env.ICE_SERVERS.split(',').map((s) => s.trim()) : []);
  if (iceUrls.length > 0)
    options.video = { iceServers: iceUrls.map((url) => iceServer(url, env, usageError)) };
  return options;
}

function iceServer(
  url: string,
  env: NodeJS.ProcessEnv,
  usageError: (m: string) => Error,
): IceServer {
  if (!/^(stun|stuns|turn|turns):[^\s]+$/.test(url))
    throw usageError(`--ice-server: "${url}" is not a stun:, stuns:, turn: or turns: URL`);
  if (!url.startsWith('turn')) return { urls: url };
  const username = env.TURN_USERNAME;
  const credential = env.TURN_CREDENTIAL;
  if (!username || !credential)
    throw usageError(`--ice-server ${url}: a TURN server needs TURN_USERNAME and TURN_CREDENTIAL`);
  return { urls: url, username, credential };
}

function checkUrl(
  text: string,
  protocols: string[],
  flag: string,
  usageError: (m: string) => Error,
): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${flag}: "${text}" is not a URL`);
  }
  if (!protocols.includes(url.protocol))
    throw usageError(`${flag}: "${text}" must be a ${protocols.join(' or ')} URL`);
}
