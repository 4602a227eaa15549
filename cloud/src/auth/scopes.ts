import type { Action } from '../access/roles.ts';
import { isValidScope, scopesAllow } from '../access/scopes.ts';

const ACTIONS: readonly Action[] = ['read', 'search', 'create', 'update', 'delete'];

/** `system/Observation.read` → `Observation`; `system/*.read` → `*`. */
const typeOf = (scope: string) => scope.slice('system/'.length, scope.lastIndexOf('.'));

/** Is every (type, action) that `scope` names also granted by `allowed`? */
export function scopeCoveredBy(scope: string, allowed: readonly string[]): boolean {
  const type = typeOf(scope);
  const actions = ACTIONS.filter((action) => scopesAllow([scope], type, action));
  // For `system/*.x` the type `*` only matches scopes that are themselves for every type.
  return actions.length > 0 && actions.every((action) => scopesAllow(allowed, type, action));
}

export type ScopeGrant = { ok: true; scopes: string[] } | { ok: false; description: string };

/**
 * The scopes a token gets (RFC 6749 §3.3): all the client may have when it asks for none, else
 * exactly those asked for, each of which must be within what the client may have.
 */
export function grantScopes(requested: readonly string[], allowed: readonly string[]): ScopeGrant {
  if (requested.length === 0) return { ok: true, scopes: [...allowed] };
  for (const scope of requested) {
    if (!isValidScope(scope))
      return {
        ok: false,
        description: `"${scope}" is not a SMART system scope (system/Type.read)`,
      };
    if (!scopeCoveredBy(scope, allowed))
      return { ok: false, description: `this client may not have the scope ${scope}` };
  }
  return { ok: true, scopes: [...new Set(requested)] };
}

/** Checks the scopes an administrator gives a client. */
export function invalidScopes(scopes: readonly string[]): string[] {
  return scopes.filter((scope) => !isValidScope(scope));
}
