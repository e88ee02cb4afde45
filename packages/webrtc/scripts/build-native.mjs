#!/usr/bin/env node
// Builds the optional native module (native/atrium_srtp.c: SRTP crypto, native/atrium_udp.c: sendmmsg batching,
// native/atrium_udp_recv.c: recvmmsg receiving
// -> native/build/atrium_srtp.node) with the system
// gcc against the running Node's own headers (node_api.h and the OpenSSL headers Node ships in include/node):
// no node-gyp, no download, no libssl link (the addon uses the OpenSSL symbols the node binary exports).
// Runs as this workspace's npm `install` script. Never fails the install: without gcc or the headers, or if the
// result does not load, it prints one line and the TypeScript SRTP path is used. `--strict` makes those exit 1.
// Skips the compile when the source, compiler flags, Node version and the built file are unchanged since the last build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['atrium_srtp.c', 'atrium_udp.c', 'atrium_udp_recv.c'].map((name) => join(pkg, 'native', name));
const outDir = join(pkg, 'native', 'build');
const target = join(outDir, 'atrium_srtp.node');
const stampFile = join(outDir, 'atrium_srtp.stamp');
const strict = process.argv.includes('--strict');
const cc = process.env['CC'] || 'gcc';

function done(ok, line) {
  // A module from an earlier build (another Node, older source) must not be loaded once this one failed.
  if (!ok) for (const file of [target, stampFile]) rmSync(file, { force: true });
  console.log(`atrium: ${line}`);
  process.exit(ok || !strict ? 0 : 1);
}

// Headers next to the node binary (/usr/bin/node -> /usr/include/node), else where the nodesource package puts them.
const includeDir = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']
  .find((dir) => existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'openssl', 'evp.h')));
if (includeDir === undefined) done(false, 'native SRTP module not built (no node_api.h with openssl/evp.h for this Node); using the TypeScript SRTP path');
if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) done(false, `native SRTP module not built (no ${cc}); using the TypeScript SRTP path`);

const flags = ['-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', `-I${includeDir}`];
const stampHash = createHash('sha256');
for (const source of [...sources, join(pkg, 'native', 'atrium_napi.h')]) stampHash.update(readFileSync(source));
const stamp = stampHash.update(JSON.stringify([cc, flags, process.version, process.execPath])).digest('hex');
const fileHash = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
if (existsSync(target) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === `${stamp} ${fileHash(target)}` && loads(target)) {
  done(true, 'native SRTP module up to date');
}

mkdirSync(outDir, { recursive: true });
const temp = join(outDir, `atrium_srtp.${process.pid}.tmp.node`); // .node: require() must load it as an addon
const r = spawnSync(cc, [...flags, '-o', temp, ...sources], { encoding: 'utf8' });
if (r.status !== 0) {
  rmSync(temp, { force: true });
  const first = `${r.stderr ?? ''}${r.error?.message ?? ''}`.split('\n').find((l) => l.trim() !== '') ?? 'no output';
  done(false, `native SRTP module not built (${cc} failed: ${first}); using the TypeScript SRTP path`);
}
// Loading resolves the OpenSSL symbols against this node binary; a Node built without them fails here, not later.
if (!loads(temp)) {
  rmSync(temp, { force: true });
  done(false, 'native SRTP module built but does not load in this Node; using the TypeScript SRTP path');
}
renameSync(temp, target);
writeFileSync(stampFile, `${stamp} ${fileHash(target)}`);
done(true, `native SRTP module built (${target}); ${udpSelfTest(target)}`);

// The sendmmsg half is optional at run time (src/udp-batch.ts runs a fuller self-test before first use): report it,
// never fail the build for it. Three datagrams through udpSendBatch to a loopback socket must arrive intact and in order.
function udpSelfTest(file) {
  const probe = `const m = require(${JSON.stringify(file)});
    if (!m.udpSupported) { console.log('not Linux'); process.exit(0); }
    const [tx] = m.udpTestSocket(4), [rx, port] = m.udpTestSocket(4);
    const bufs = [Buffer.from('one'), Buffer.from('two'), Buffer.alloc(1200, 7)], result = new Int32Array(3);
    const n = m.udpSendBatch(tx, 4, bufs, new Uint16Array([port, port, port]), ['127.0.0.1', '127.0.0.1', '127.0.0.1'], 0, 3, result);
    const got = Buffer.alloc(2048);
    const ok = n === 3 && result[0] === 3 && bufs.every((b) => { const len = m.udpTestRecv(rx, got, 1000); return len === b.length && got.subarray(0, len).equals(b); });
    m.udpTestClose(tx); m.udpTestClose(rx);
    console.log(ok ? 'ok' : 'datagrams did not arrive as sent');`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  const line = (r.stdout ?? '').trim() || (r.stderr ?? '').trim().split('\n')[0] || 'no output';
  return line === 'ok' ? 'sendmmsg batching self-tested' : `sendmmsg batching not usable (${line}); UdpMux sends with node:dgram`;
}

function loads(file) {
  const probe = `const m = require(${JSON.stringify(file)}); if (typeof m.gcmCreate !== 'function') process.exit(1);`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0;
}
