#!/usr/bin/env node
// Builds the web app (docs/web-app.md) into dist/: app-<hash>.js and app-<hash>.css bundled by esbuild from src/, and
// index.html naming them. Runs from `npm install` (this workspace's install script) and before `npm start`.
// `node build.mjs` or `buildWebApp()` from tests; prints the sizes.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds into `outDir` (default dist/); returns the asset names and their sizes in bytes (raw and gzipped). */
export async function buildWebApp({ outDir = join(here, 'dist'), quiet = false } = {}) {
  const startedMs = Date.now();
  // Built next to the old files, then swapped in, so a server reading dist/ never sees a half-written app.
  const tmpDir = `${outDir}.tmp-${process.pid}`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(here, 'src/main.ts'), style: join(here, 'src/app.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    outdir: tmpDir,
    entryNames: '[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'linked',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((n) => /^app-[A-Z0-9]+\.js$/.test(n));
  const css = outputs.find((n) => /^style-[A-Z0-9]+\.css$/.test(n));
  if (!js || !css) throw new Error(`web app build: missing outputs in ${outputs.join(', ')}`);
  const html = readFileSync(join(here, 'src/index.html'), 'utf8').replace('%APP_JS%', `/app/${js}`).replace('%APP_CSS%', `/app/${css}`);
  writeFileSync(join(tmpDir, 'index.html'), html);
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmpDir, outDir);
  const sizes = {};
  for (const name of readdirSync(outDir)) {
    const bytes = readFileSync(join(outDir, name));
    sizes[name] = { bytes: statSync(join(outDir, name)).size, gzipBytes: gzipSync(bytes).length };
  }
  const ms = Date.now() - startedMs;
  if (!quiet) {
    const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
    const fmt = (n) => `${n} ${kb(sizes[n].bytes)} (gzip ${kb(sizes[n].gzipBytes)})`;
    console.log(`web app built in ${ms} ms: ${fmt(js)}, ${fmt(css)}, ${fmt('index.html')} -> ${outDir}`);
  }
  return { js, css, sizes, ms };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildWebApp().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
