import { defineConfig } from 'drizzle-kit';

// `pnpm --filter @wardgate/edge exec drizzle-kit generate` writes a new migration after a schema
// change; the store applies pending migrations when it opens (src/store/store.ts).
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/store/schema.ts',
  out: './migrations',
});
