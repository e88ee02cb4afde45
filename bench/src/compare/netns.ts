// The compare bench runs in a network namespace of its own (`unshare -n`, root): Janus never gathers ICE candidates
// on a loopback interface, so the namespace gets a veth pair with 10.99.0.1 on one end besides `lo`. Traffic to that
// address is local delivery, as on loopback (nothing leaves the machine, nothing else shares the namespace). Atrium
// and its clients use 127.0.0.1 as in `npm run bench -- load`; Janus and its clients use 10.99.0.1.
import { spawnSync } from 'node:child_process';

export const NETNS_ENV = 'ATRIUM_COMPARE_NETNS';
export const BENCH_ADDRESS = '10.99.0.1';

const SETUP = [
  'set -e',
  'ip link set lo up',
  'ip link add bench0 type veth peer name bench1',
  'ip link set bench1 up',
  `ip addr add ${BENCH_ADDRESS}/24 dev bench0`,
  'ip link set bench0 up',
].join('; ');

/** True inside the namespace this module made (the re-executed bench). */
export function isInsideBenchNamespace(): boolean {
  return process.env[NETNS_ENV] === '1';
}

/**
 * Runs this same script again inside a fresh namespace (set up as above) and exits with its status. Throws when
 * the namespace cannot be made (not root, no `unshare`/`ip`).
 */
export function reexecInNamespace(script: string, args: readonly string[]): never {
  if (process.getuid?.() !== 0) throw new Error('the compare bench needs root: it runs in a network namespace of its own (unshare -n)');
  const quoted = [process.execPath, '--import', 'tsx', script, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('unshare', ['-n', 'bash', '-c', `${SETUP}; exec ${quoted}`], { stdio: 'inherit', env: { ...process.env, [NETNS_ENV]: '1' } });
  if (r.error) throw r.error;
  process.exit(r.status ?? 1);
}
