import type { Principal } from './principal.ts';

/** The Hono environment of every authenticated app: the request's principal. */
export type AuthEnv = { Variables: { principal: Principal } };
