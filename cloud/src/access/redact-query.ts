/**
 * Search parameters whose values never carry a person's identity (codes, dates, ids, paging):
 * kept in the audit trail. Every other value (names, identifiers, phone numbers, addresses,
 * free text) is replaced, so the audit log holds no PHI beyond patient ids.
 */
const SAFE = new Set([
  '_id',
  '_count',
  '_offset',
  '_sort',
  '_include',
  '_revinclude',
  '_summary',
  '_total',
  '_type',
  '_since',
  '_lastUpdated',
  'start',
  'end',
  'code',
  'category',
  'status',
  'date',
  'patient',
  'subject',
  'encounter',
  'gender',
  'clinical-status',
  'intent',
]);

export const REDACTED = '***';

/** `pairs` as a query string with unsafe values replaced by ***. */
export function redactQuery(pairs: Iterable<[string, string]>): string {
  const out = new URLSearchParams();
  for (const [name, value] of pairs) {
    const base = name.split(/[.:]/)[0];
    const safeReference = !name.includes('.') && SAFE.has(base);
    out.append(name, safeReference ? value : REDACTED);
  }
  return out.toString();
}
