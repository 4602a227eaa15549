#!/usr/bin/env node
// The production build: each CLI bundled with esbuild into one ESM file that plain `node` runs,
// without tsx (edge/dist/wardgate-edge.mjs, cloud/dist/wardgate-cloud.mjs). The workspace packages
// (@wardgate/*) are bundled in; npm packages stay external and load from node_modules, so native
// addons (better-sqlite3, serialport) and wasm (libsodium, PGlite) are untouched.
//
// Files the sources read at run time (drizzle migrations, shared/profiles, the nurse-screen UI) are
// found with `new URL(rel, import.meta.url)`. In the bundle every `import.meta.url` of a source file
// becomes that source file's own URL, computed from the bundle's location, so those reads resolve
// into the source tree exactly as under tsx. The bundle therefore runs from inside the repository
// (as systemd/install.sh installs it), next to its node_modules.
//
// usage: node scripts/build.mjs [--if-stale]   (--if-stale: only bundles older than a source)
import { mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLES, bundleIsCurrent, inputsFileOf, repoRoot } from './bundle-freshness.mjs';

const THIS_SCRIPT = relative(repoRoot, fileURLToPath(import.meta.url))
  .split(sep)
  .join('/');

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageName = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Everything but relative paths and the workspace's own packages stays an import. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@wardgate/') ? undefined : { path: args.path, external: true },
    );
  },
};

/** Rewrites `import.meta.url` in workspace sources to the URL of that source file. */
function sourceRelativeImportMetaUrl(outdir) {
  return {
    name: 'source-relative-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, async (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const fromBundle = relative(outdir, args.path).split(sep).join('/');
        return {
          contents: text.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
          ),
          loader: /\.m?ts$/.test(args.path) ? 'ts' : 'js',
        };
      });
    },
  };
}

/** The npm packages a bundle imports must be dependencies of its own package, or node won't find them. */
function checkExternals(bundle, metafile) {
  const pkg = JSON.parse(readFileSync(join(repoRoot, bundle.name, 'package.json'), 'utf8'));
  const declared = new Set(Object.keys(pkg.dependencies ?? {}));
  const missing = new Set();
  for (const output of Object.values(metafile.outputs))
    for (const { path, external } of output.imports)
      if (external && !isBuiltin(path) && !declared.has(packageName(path)))
        missing.add(packageName(path));
  if (missing.size > 0)
    throw new Error(
      `${bundle.outfile} imports ${[...missing].join(', ')}, which ${bundle.name}/package.json does not list in dependencies`,
    );
}

async function buildOne(esbuild, bundle) {
  const outfile = join(repoRoot, bundle.outfile);
  const outdir = dirname(outfile);
  const startedAt = new Date();
  const result = await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: [bundle.entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'warning',
    plugins: [externalPackages, sourceRelativeImportMetaUrl(outdir)],
  });
  checkExternals(bundle, result.metafile);
  mkdirSync(outdir, { recursive: true });
  const inputs = [...Object.keys(result.metafile.inputs), THIS_SCRIPT].sort();
  // Written then renamed, so a process starting the bundle meanwhile never reads half a file.
  const write = (path, contents) => {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  };
  const [output] = result.outputFiles;
  write(inputsFileOf(outfile), `${JSON.stringify(inputs, null, 2)}\n`);
  write(outfile, output.contents);
  // The bundle's time is when esbuild started reading: a source saved during the build is newer.
  utimesSync(outfile, startedAt, startedAt);
  return { outfile: bundle.outfile, bytes: output.contents.length, inputs: inputs.length };
}

/** Builds every bundle (or only the stale ones); returns what was written. */
export async function build({ ifStale = false } = {}) {
  const toBuild = BUNDLES.filter((b) => !ifStale || !bundleIsCurrent(b.outfile));
  if (toBuild.length === 0) return [];
  const esbuild = await import('esbuild');
  return Promise.all(toBuild.map((b) => buildOne(esbuild, b)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  const built = await build({ ifStale });
  for (const b of built)
    console.log(
      `[wardgate] built ${b.outfile} (${Math.round(b.bytes / 1024)} KiB from ${b.inputs} files)`,
    );
  if (built.length === 0) console.log('[wardgate] bundles are current');
}
