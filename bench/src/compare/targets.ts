// The two servers of the compare bench behind one interface, so the same runner (compare/run-shape.ts) drives both
// with the same client role and media: Atrium (a child process, LiveKit signalling, LoadParticipant of the load
// tester) and Janus 1.1.2's VideoRoom (a child process, Janus API over HTTP, JanusParticipant).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AccessToken } from 'livekit-server-sdk';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { LoadParticipant } from '@atrium/cli/load-test/load-participant.js';
import type { SubscriptionSink } from '@atrium/cli/load-test/load-participant.js';
import type { MediaSource } from '@atrium/cli/load-test/media-source.js';
import type { VideoLayerPlan } from '@atrium/cli/load-test/media-plan.js';
import { JanusParticipant, createRoom } from '../janus/janus-participant.js';
import { startJanus } from '../janus/janus-server.js';
import type { JanusSession } from '../janus/janus-api.js';
import { freePort, startServerProcess } from '../server-process.js';
import { scrape } from './prometheus.js';
import type { ServerCounters } from './prometheus.js';

const JOIN_TIMEOUT_MS = 20_000;

export type SinkFor = (subscriber: string, trackSid: string) => SubscriptionSink | undefined;

export interface BenchPeer {
  identity: string;
  tracks: readonly { sid: string; source: MediaSource }[];
  leave(): Promise<void>;
  diagnostics(): string;
}

/** One server instance, for one shape. */
export interface TargetInstance {
  name: string;
  version: string;
  pid: number;
  /** Server-side counters (Atrium's Prometheus metrics), when the server has them. */
  counters?(): Promise<ServerCounters>;
  /** How the server process ended when it is gone before `stop` (`exit code 1`, `signal SIGKILL`), else undefined. */
  exitedEarly(): string | undefined;
  /** Lines the server logged at warning level or worse during the run (Janus), or '' when not counted. */
  warnings(): string;
  /** Joins and publishes; `alsoSubscribe`: the participant will subscribe too (a meeting member). */
  publish(identity: string, what: { video?: readonly VideoLayerPlan[]; audio?: boolean }, alsoSubscribe: boolean): Promise<BenchPeer>;
  /** A new participant that subscribes to every published track. */
  subscribe(identity: string): Promise<BenchPeer>;
  /** A meeting member (from `publish(..., true)`) subscribes to every other member once all have published. */
  subscribeOthers(peer: BenchPeer): Promise<void>;
  stop(): Promise<void>;
}

export type TargetFactory = (ctx: { room: string; publishers: number; certificate: DtlsCertificate; sinkFor: SinkFor; onProblem: (what: string) => void }) => Promise<TargetInstance>;

// ---- Atrium -------------------------------------------------------------------------------------------------------

/** `atrium <package version> (<git commit>)`. */
export function atriumVersion(): string {
  const pkg = fileURLToPath(new URL('../../../packages/server/package.json', import.meta.url));
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
  return `atrium ${version}${git.status === 0 ? ` (${git.stdout.trim()})` : ''}`;
}

export const atriumTarget = (opts: { profileDir?: string; yaml?: string; name?: string } = {}): TargetFactory => async ({ room, certificate, sinkFor, onProblem }) => {
  // Prometheus on a free port: packets sent to subscribers and the in-server forwarding latency over the window
  const metricsPort = await freePort();
  // --atrium-yaml: livekit.yaml settings on top of --dev (e.g. 'rtc: {congestion_control: {enabled: false}}');
  // --atrium-profile DIR: the server writes a CPU profile there when it exits (compare/profile-summary.ts reads it)
  const server = await startServerProcess({
    yaml: `prometheus_port: ${metricsPort}\n${opts.yaml ?? ''}`, ...(opts.profileDir !== undefined ? { profileDir: opts.profileDir } : {}),
  });
  const token = (identity: string, canPublish: boolean, canSubscribe: boolean): Promise<string> => {
    const t = new AccessToken('devkey', 'secret', { identity, ttl: '6h' });
    t.addGrant({ roomJoin: true, room, canPublish, canSubscribe, canPublishData: false });
    return t.toJwt();
  };
  const join = async (identity: string, canPublish: boolean, subscribe: boolean): Promise<LoadParticipant> =>
    LoadParticipant.join({
      url: server.url, token: await token(identity, canPublish, subscribe), identity, certificate, localAddress: '127.0.0.1',
      subscribe, timeoutMs: JOIN_TIMEOUT_MS,
      onSubscribed: (p, trackSid) => sinkFor(p.identity, trackSid),
      onProblem: (p, what) => onProblem(`${p.identity}: ${what}`),
    });
  return {
    name: opts.name ?? 'atrium', version: atriumVersion(), pid: server.pid, warnings: () => '', exitedEarly: () => server.exitedEarly(),
    counters: () => scrape(`http://127.0.0.1:${metricsPort}/metrics`),
    publish: async (identity, what, alsoSubscribe) => {
      const p = await join(identity, true, alsoSubscribe);
      await p.publish(what);
      return p;
    },
    subscribe: (identity) => join(identity, false, true),
    // auto-subscribe: a member subscribed to each other member as it published
    subscribeOthers: async () => {},
    stop: () => server.stop(),
  };
};

// ---- Janus --------------------------------------------------------------------------------------------------------

export function janusTarget(opts: { iceAddress: string; eventLoops: number }): TargetFactory {
  const name = opts.eventLoops > 0 ? 'janus' : 'janus-threads';
  return async ({ publishers, certificate, sinkFor, onProblem }) => {
    const janus = await startJanus({ iceAddress: opts.iceAddress, eventLoops: opts.eventLoops });
    const roomId = 1 + Math.floor(Math.random() * 1e9);
    let admin: JanusSession;
    try {
      admin = await createRoom(janus.url, roomId, publishers + 1);
    } catch (err) {
      await janus.stop();
      throw err;
    }
    const feeds = new Map<JanusParticipant, number>();
    const join = (identity: string): Promise<JanusParticipant> =>
      JanusParticipant.join({
        url: janus.url, room: roomId, identity, certificate, localAddress: opts.iceAddress, timeoutMs: JOIN_TIMEOUT_MS,
        onSubscribed: (p, trackSid) => sinkFor(p.identity, trackSid),
        onProblem: (p, what) => onProblem(`${p.identity}: ${what}`),
      });
    let warnings = '';
    return {
      name, version: `janus ${janus.version}${opts.eventLoops > 0 ? ` (event_loops ${opts.eventLoops})` : ' (a thread per handle)'}`, pid: janus.pid,
      exitedEarly: () => janus.exitedEarly(),
      warnings: () => warnings,
      publish: async (identity, what) => {
        const p = await join(identity);
        try {
          await p.publish(what);
        } catch (err) {
          await p.leave();
          throw err;
        }
        feeds.set(p, p.feedId!);
        return p;
      },
      subscribe: async (identity) => {
        const p = await join(identity);
        try {
          await p.subscribe([...feeds.values()]);
        } catch (err) {
          await p.leave();
          throw err;
        }
        return p;
      },
      subscribeOthers: async (peer) => {
        const p = peer as JanusParticipant;
        await p.subscribe([...feeds.entries()].filter(([q]) => q !== p).map(([, f]) => f));
      },
      stop: async () => {
        const w = janus.warnings();
        warnings = w.count > 0 ? `${w.count} warning lines, last: ${w.last.join(' | ')}` : '';
        await admin.destroy();
        await janus.stop();
      },
    };
  };
}
