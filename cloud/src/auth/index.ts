// The identity module: users, passwords, TOTP MFA, sessions, API clients and the authenticate
// middleware. Mount authApp at /api; put authenticate in front of everything that needs a principal.
export { authApp } from './app.ts';
export { authenticate, bearerToken } from './authenticate.ts';
export {
  assignPatient,
  type CareAssignment,
  currentAssignments,
  endAssignment,
} from './care-assignments.ts';
export { type ClientView, clientView, createClient, listClients, revokeClient } from './clients.ts';
export { AuthError } from './errors.ts';
export type { AuthEnv } from './hono-env.ts';
export type {
  AuthErrorRenderer,
  AuthenticateOptions,
  AuthOptions,
  SessionLimits,
} from './options.ts';
export {
  ARGON2ID_MEMLIMIT,
  ARGON2ID_OPSLIMIT,
  assertStrongPassword,
  hashPassword,
  PasswordPolicyError,
  passwordProblems,
  verifyPassword,
} from './passwords.ts';
export * from './principal.ts';
export { requestSource } from './request-source.ts';
export { mfaSecretAd, type SecretBox } from './secret-box.ts';
export {
  createUser,
  listUsers,
  type NewUser,
  type UserView,
  userView,
} from './users.ts';
