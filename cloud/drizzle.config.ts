import { defineConfig } from 'drizzle-kit';

// `pnpm --filter @wardgate/cloud exec drizzle-kit generate` writes a new migration after a
// schema change; the cloud applies pending migrations at start (src/db/database.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
});
