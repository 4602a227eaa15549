import { bigint } from 'drizzle-orm/pg-core';

/** Times are epoch milliseconds (bigint) everywhere, like the wire records; FHIR renders ISO. */
export const epochMs = (name: string) => bigint(name, { mode: 'number' });
