import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface JsonAnswer {
  status: number;
  /** The parsed body; {} when it was not JSON. */
  body: unknown;
}

/**
 * POSTs JSON over http:// or https:// and reads the JSON answer. `ca` (PEM) replaces the system's
 * CAs for https:// — node's fetch cannot be given a CA without the undici package.
 */
export function postJson(
  url: URL,
  payload: unknown,
  options: { ca?: string; timeoutMs?: number } = {},
): Promise<JsonAnswer> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return Promise.reject(new Error(`${url.href}: an http:// or https:// URL is needed`));
  const data = Buffer.from(JSON.stringify(payload));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': data.length },
        timeout: options.timeoutMs ?? 30_000,
        ...(url.protocol === 'https:' && options.ca ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          let body: unknown = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = {};
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', reject);
    req.end(data);
  });
}
