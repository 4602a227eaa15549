// Log lines must not carry PHI. A request URL's query can hold a name, an MRN or a phone number
// (`Patient?name=…`); a database error carries the statement's bound values (drizzle appends
// "params: …", node-postgres a `detail` with key values) and quotes the offending input.

/** A URL for a log line: the path, and each query parameter's name with its value hidden. */
export function redactedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://unknown');
  } catch {
    return '(unparsable url)';
  }
  const names = [...parsed.searchParams.keys()];
  return names.length === 0
    ? parsed.pathname
    : `${parsed.pathname}?${names.map((n) => `${encodeURIComponent(n)}=…`).join('&')}`;
}

/** Quoted input in an error message ("…"), which may be a value the client sent. */
const quoted = (text: string) => text.replace(/"[^"\n]*"/g, '"…"');

/**
 * An error for a log line: its kind, its message without bound parameters or quoted values, the
 * database's error code, its cause likewise, and the stack frames (where it happened).
 */
export function errorForLog(error: unknown): string {
  if (!(error instanceof Error)) return `non-error thrown: ${typeof error}`;
  const message = (e: Error) => quoted(e.message.split('\nparams:')[0]);
  const code = (e: unknown) => {
    const c = (e as { code?: unknown }).code;
    return typeof c === 'string' ? ` [${c}]` : '';
  };
  const lines = [`${error.name}: ${message(error)}${code(error)}`];
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error)
    lines.push(`caused by ${cause.name}: ${message(cause)}${code(cause)}`);
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return [...lines, ...frames].join('\n');
}
