import type { Context } from 'hono';
import type { StoreGuard } from '../fhir/store/resource-store.ts';
import type { AccessOperation, RequestAccess } from './request-access.ts';

export { AccessDenied } from './access-denied.ts';
export { classificationOf } from './classification.ts';
export { type AccessEnv, accessControl } from './middleware.ts';
export { redactQuery } from './redact-query.ts';
export { type AccessOperation, RequestAccess } from './request-access.ts';
export { ROLE_POLICIES } from './roles.ts';
export { isValidScope, scopesAllow } from './scopes.ts';

/** The request's access, set by the accessControl middleware; a route without it is a bug. */
export function accessOf(c: Context): RequestAccess {
  const access = c.get('access') as RequestAccess | undefined;
  if (!access) throw new Error(`no access control in front of ${c.req.method} ${c.req.routePath}`);
  return access;
}

/** The store guard for one operation of a request: reads and writes authorized and recorded. */
export function storeGuard(access: RequestAccess, op: AccessOperation): StoreGuard {
  return {
    readable: (version) => access.readableVersion(version, op),
    writable: (type, before, after) => access.writable(type, before, after, op),
  };
}
