import { sql } from 'drizzle-orm';

/** A WHERE condition no row meets: for filters whose values can match nothing. */
export const NOTHING = sql`false`;
