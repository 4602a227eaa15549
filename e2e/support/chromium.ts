import { existsSync } from 'node:fs';

/** Debian's Chromium (or CHROMIUM_PATH) for the browser tests; undefined when not installed. */
export const chromiumPath = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
].find((p) => p && existsSync(p));
