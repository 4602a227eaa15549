#!/usr/bin/env node
// Runs the production bundle (dist/wardgate-edge.mjs, made by `npm run build`) when it is current
// with the sources, else the TypeScript sources through tsx. So a fresh clone needs no build step,
// and an edited source is never shadowed by an older bundle. systemd runs the bundle directly.
import { bundleIsCurrent } from '../../scripts/bundle-freshness.mjs';

if (bundleIsCurrent('edge/dist/wardgate-edge.mjs')) {
  await import('../dist/wardgate-edge.mjs');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
