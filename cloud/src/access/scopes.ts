import type { Action } from './roles.ts';

/**
 * SMART on FHIR backend-services scopes: `system/<Type|*>.<read|write|*>` (v1) or
 * `system/<Type|*>.<cruds>` (v2 letters: create, read, update, delete, search).
 */
const SCOPE = /^system\/([A-Z][A-Za-z]*|\*)\.(read|write|\*|c?r?u?d?s?)$/;

const V1: Record<string, Action[]> = {
  read: ['read', 'search'],
  write: ['create', 'update', 'delete'],
  '*': ['read', 'search', 'create', 'update', 'delete'],
};
const V2: Record<string, Action> = {
  c: 'create',
  r: 'read',
  u: 'update',
  d: 'delete',
  s: 'search',
};

export function isValidScope(scope: string): boolean {
  const m = SCOPE.exec(scope);
  return m !== null && m[2] !== '';
}

/** Do `scopes` grant `action` on `type`? Unknown scope strings grant nothing. */
export function scopesAllow(scopes: readonly string[], type: string, action: Action): boolean {
  for (const scope of scopes) {
    const m = SCOPE.exec(scope);
    if (!m || m[2] === '') continue;
    if (m[1] !== '*' && m[1] !== type) continue;
    const actions = V1[m[2]] ?? [...m[2]].map((letter) => V2[letter]);
    if (actions.includes(action)) return true;
  }
  return false;
}
