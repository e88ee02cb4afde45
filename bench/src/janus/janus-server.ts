// Janus for the compare bench: a config folder of its own (generated here, nothing read from /etc/janus), then the
// Debian `janus` binary as a child process. Only the VideoRoom plugin and the plain-HTTP Janus API transport are
// loaded; ICE-lite; candidates only on the bench's own address (Janus never gathers on loopback interfaces, so the
// bench runs in a network namespace with a veth address: see compare/netns.ts). Logging at level 3 (warnings and
// errors) into a file whose warning count the bench reports.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../server-process.js';

/** Where Debian's package puts the plugin folders (x86_64; arm64 is aarch64-linux-gnu). */
export function janusLibDir(arch: string = process.arch): string {
  return `/usr/lib/${arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/janus`;
}

const OTHER_PLUGINS = ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'voicemail'];
const OTHER_TRANSPORTS = ['mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'];

export interface JanusConfigOptions {
  dir: string;
  libDir: string;
  httpPort: number;
  /** The only address Janus gathers host candidates on. */
  iceAddress: string;
  rtpPortRange: string;
  debugLevel: number;
  /** Janus's `event_loops`: 0 keeps its default (one thread and loop per handle). */
  eventLoops: number;
}

/** The files of the config folder, by name (libconfig syntax, as Janus 1.x's .jcfg files). */
export function janusConfigFiles(o: JanusConfigOptions): Record<string, string> {
  const general = [
    `configs_folder = "${o.dir}"`,
    `plugins_folder = "${o.libDir}/plugins"`,
    `transports_folder = "${o.libDir}/transports"`,
    `events_folder = "${o.libDir}/events"`,
    `loggers_folder = "${o.libDir}/loggers"`,
    `debug_level = ${o.debugLevel}`,
    'session_timeout = 120',
    'hide_dependencies = true',
    ...(o.eventLoops > 0 ? [`event_loops = ${o.eventLoops}`] : []),
  ];
  return {
    'janus.jcfg': [
      `general: {\n  ${general.join('\n  ')}\n}`,
      'certificates: {\n}',
      `media: {\n  rtp_port_range = "${o.rtpPortRange}"\n}`,
      `nat: {\n  ice_lite = true\n  ice_enforce_list = "${o.iceAddress}"\n}`,
      `plugins: {\n  disable = "${OTHER_PLUGINS.map((p) => `libjanus_${p}.so`).join(',')}"\n}`,
      `transports: {\n  disable = "${OTHER_TRANSPORTS.map((p) => `libjanus_${p}.so`).join(',')}"\n}`,
      'loggers: {\n  disable = "libjanus_jsonlog.so"\n}',
      'events: {\n  broadcast = false\n}',
      '',
    ].join('\n'),
    'janus.transport.http.jcfg': [
      `general: {\n  json = "compact"\n  base_path = "/janus"\n  http = true\n  port = ${o.httpPort}\n  ip = "127.0.0.1"\n  https = false\n}`,
      'admin: {\n  admin_http = false\n  admin_https = false\n}',
      '',
    ].join('\n'),
    // rooms are created by the bench over the API
    'janus.plugin.videoroom.jcfg': 'general: {\n}\n',
  };
}

export interface JanusProcess {
  pid: number;
  /** http://127.0.0.1:port/janus */
  url: string;
  version: string;
  logFile: string;
  /** How Janus ended when it is gone before `stop`, else undefined. */
  exitedEarly(): string | undefined;
  /** Lines of the log at WARN or ERR so far. */
  warnings(): { count: number; last: string[] };
  stop(): Promise<void>;
}

export async function startJanus(opts: { iceAddress: string; eventLoops?: number; debugLevel?: number }): Promise<JanusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-janus-'));
  const httpPort = await freePort();
  const files = janusConfigFiles({
    dir, libDir: janusLibDir(), httpPort, iceAddress: opts.iceAddress, rtpPortRange: '20000-60000',
    debugLevel: opts.debugLevel ?? 3, eventLoops: opts.eventLoops ?? 0,
  });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const logFile = join(dir, 'janus.log');
  const fd = openSync(logFile, 'w');
  const child = spawn('janus', ['-F', dir, '-C', join(dir, 'janus.jcfg'), '-o'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let isStopping = false;
  let early: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      if (!isStopping) early = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${httpPort}/janus`;
  const deadline = performance.now() + 15_000;
  let version = '';
  for (;;) {
    const early = await Promise.race([exited, new Promise<'wait'>((r) => setTimeout(() => r('wait'), 100))]);
    if (early !== 'wait') throw new Error(`janus exited (${early}) before answering; log: ${logFile}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    try {
      const res = await fetch(`${url}/info`);
      if (res.ok) {
        const info = (await res.json()) as { version_string?: string; plugins?: Record<string, unknown> };
        if (info.plugins?.['janus.plugin.videoroom'] === undefined) throw new Error('janus: the VideoRoom plugin did not load');
        version = info.version_string ?? '?';
        break;
      }
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('janus:')) throw err;
    }
    if (performance.now() > deadline) throw new Error(`janus did not answer on ${url} within 15 s; log: ${logFile}`);
  }
  return {
    pid: child.pid!, url, version, logFile,
    exitedEarly: () => early,
    warnings: () => {
      // Not counted: plugins we disabled; no address on start-up (the namespace's lo, before Janus reads the
      // enforce list); "Failed to add some remote candidates" (our bundled m-lines repeat one host candidate, Janus
      // adds it once).
      const known = /has been disabled, skipping|Couldn't find any address|Failed to add some remote candidates/;
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => /\[(WARN|ERR)\]/.test(l) && !known.test(l));
      return { count: lines.length, last: lines.slice(-3) };
    },
    stop: async () => {
      isStopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (process.env['ATRIUM_BENCH_KEEP_JANUS_LOG'] !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}
