// Join benchmark instrumentation (bench only): wraps prototype methods of the in-process Atrium server to record when
// each join step happens on the server (upgrade, signal messages, ICE, DTLS, first RTP, PLI, keyframe), in epoch ms.
// Nothing in the server knows about it; per-packet wrappers cost a little and exist only in this bench process.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { SignalRequest, type SignalResponse } from '@livekit/protocol';
import { TypedEmitter } from '@atrium/webrtc/typed-emitter.js';
import { IceTransport } from '@atrium/webrtc/ice/ice-transport.js';
import { DtlsTransport } from '@atrium/webrtc/dtls/dtls-transport.js';
import { RtcService } from '@atrium/server/signal/rtc-service.js';
import { SignalSession } from '@atrium/server/signal/signal-session.js';
import { Participant } from '@atrium/server/rtc/participant.js';
import { WebRtcParticipantMedia } from '@atrium/server/rtc/webrtc-participant-media.js';
import { Receiver } from '@atrium/server/sfu/receiver.js';
import { DownTrack } from '@atrium/server/sfu/down-track.js';

/** Epoch milliseconds with sub-millisecond precision, comparable with a page's performance.timeOrigin + now(). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export interface TraceEvent {
  atMs: number;
  /** Participant identity (and `/publisher` or `/subscriber` for transport events). */
  who: string;
  what: string;
}

export interface JoinTrace {
  events: TraceEvent[];
  /** Events of `identity` (transport events included), oldest first. */
  of(identity: string): TraceEvent[];
  /** Time of the first event of `identity` whose `what` starts with `prefix`. */
  first(identity: string, prefix: string): number | undefined;
  clear(): void;
}

const owners = new WeakMap<object, string>();

/** The token's subject: from `access_token` in the URL (livekit-client) or a Bearer header (rtc-node). */
function identityOf(req: { url?: string; headers?: Record<string, unknown> }): string {
  const bearer = /^Bearer (\S+)$/.exec(String(req.headers?.['authorization'] ?? ''))?.[1];
  const token = bearer ?? /[?&]access_token=([^&]+)/.exec(req.url ?? '')?.[1];
  const payload = token?.split('.')[1];
  if (!payload) return '?';
  try {
    return String((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub ?? '?');
  } catch {
    return '?';
  }
}

function wrap(proto: any, name: string, around: (self: any, args: any[], call: () => any) => any): void {
  const original = proto[name] as (...a: any[]) => any;
  if (typeof original !== 'function') throw new Error(`join-trace: no method ${name} to wrap`);
  proto[name] = function (this: any, ...args: any[]) {
    return around(this, args, () => original.apply(this, args));
  };
}

/** Installs the wrappers once per process and returns the trace they fill. */
export function installJoinTrace(): JoinTrace {
  const events: TraceEvent[] = [];
  const add = (who: string, what: string): void => {
    events.push({ atMs: epochMs(), who, what });
  };

  wrap(RtcService.prototype, 'handleUpgrade', (_self, args, call) => {
    const req = args[0] as { url?: string; headers?: Record<string, unknown> };
    add(identityOf(req), `ws upgrade request (${(req.url ?? '').split('?')[0] ?? ''})`);
    return call();
  });
  wrap(Participant.prototype, 'send', (self, args, call) => {
    const msg = args[0] as SignalResponse;
    const kind = msg.message.case ?? 'unknown';
    if (kind !== 'pong' && kind !== 'pongResp') {
      const detail = kind === 'trickle' ? ` ${(msg.message.value as { target: number }).target === 1 ? 'subscriber' : 'publisher'}` : '';
      add(self.identity as string, `signal out ${kind}${detail}`);
    }
    return call();
  });
  wrap(SignalSession.prototype, 'onFrame', (self, args, call) => {
    try {
      const data = args[0] as Buffer | ArrayBuffer | Buffer[];
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      const kind = SignalRequest.fromBinary(bytes).message.case ?? 'unknown';
      if (kind !== 'ping' && kind !== 'pingReq') add(self.participant.identity as string, `signal in ${kind}`);
    } catch {
      // undecodable frames are the session's business
    }
    return call();
  });

  // Transports: map each PC's ICE and DTLS transports to "<identity>/<publisher|subscriber>".
  wrap(WebRtcParticipantMedia.prototype, 'createPc', (self, args, call) => {
    add(`${self.opts.identity as string}/${args[0] as string}`, 'pc creating');
    const pc = call();
    const who = `${self.opts.identity as string}/${args[0] as string}`;
    owners.set(pc, who);
    owners.set(pc.ice, who);
    owners.set(pc.dtls, who);
    add(who, 'pc created');
    return pc;
  });
  const origEmit = TypedEmitter.prototype.emit as (...a: any[]) => void;
  (TypedEmitter.prototype as any).emit = function (this: object, event: string, ...args: unknown[]) {
    const who = owners.get(this);
    if (who !== undefined) {
      if (this instanceof IceTransport && event === 'stateChange') add(who, `ice ${String(args[0])}`);
      else if (this instanceof IceTransport && event === 'selectedPair') add(who, 'ice selected pair');
      else if (this instanceof DtlsTransport && event === 'stateChange') add(who, `dtls ${String(args[0])}`);
      else if (event === 'connectionStateChange') add(who, `pc ${String(args[0])}`);
    }
    return origEmit.call(this, event, ...args);
  };
  wrap(IceTransport.prototype, 'handleStun', (self, _args, call) => {
    const who = owners.get(self);
    if (who !== undefined && !self.__tracedStun) {
      self.__tracedStun = true;
      add(who, 'ice first stun in');
    }
    return call();
  });
  wrap(IceTransport.prototype, 'handleDtls', (self, args, call) => {
    const who = owners.get(self);
    if (who !== undefined && !self.__dtlsSeen) add(who, `dtls datagram from ${String(args[1])}:${String(args[2])}`);
    return call();
  });
  // Every handshake datagram in and out, with the time werift takes over each one it receives.
  wrap(DtlsTransport.prototype, 'handle', (self, args, call) => {
    const who = owners.get(self);
    if (who === undefined || self.state === 'connected') return call();
    const startMs = epochMs();
    const result = call();
    const type = (args[0] as Buffer)[0] === 22 ? `handshake type ${(args[0] as Buffer)[13] ?? '?'}` : `content type ${(args[0] as Buffer)[0] ?? '?'}`;
    events.push({ atMs: startMs, who, what: `dtls in (${type}), handled in ${(epochMs() - startMs).toFixed(1)} ms` });
    return result;
  });
  wrap(DtlsTransport.prototype, 'writeOut', (self, args, call) => {
    const who = owners.get(self);
    if (who !== undefined && self.state !== 'connected') add(who, `dtls out ${(args[0] as Buffer).length} B`);
    return call();
  });
  wrap(DtlsTransport.prototype, 'resendLastFlight', (self, _args, call) => {
    add(owners.get(self) ?? '?', 'dtls flight resent');
    return call();
  });

  // Media: a receiver belongs to the publisher, a down track to the subscriber.
  wrap(WebRtcParticipantMedia.prototype, 'onRemoteStream', (self, _args, call) => {
    const before = new Set<unknown>([...self.inputs.values()].map((i: any) => i.source.receiver));
    const result = call();
    for (const input of self.inputs.values()) {
      const r = input.source.receiver;
      if (!before.has(r)) owners.set(r, `${self.opts.identity as string} ${r.kind as string}`);
    }
    return result;
  });
  wrap(WebRtcParticipantMedia.prototype, 'startDownTrack', (self, args, call) => {
    const result = call();
    const sub = args[0];
    if (sub.down) owners.set(sub.down, `${self.opts.identity as string} ${sub.source.kind as string}`);
    add(self.opts.identity, `down track started ${sub.source.kind as string}`);
    return result;
  });
  wrap(Receiver.prototype, 'writeRtp', (self, args, call) => {
    const who = owners.get(self) ?? '?';
    const keyframesBefore = self.keyframesReceived as number;
    if (self.packetsReceived === 0) add(who, 'first rtp in');
    const result = call();
    const h = args[1] as { timestamp: number; ssrc: number; marker: boolean };
    const open = (self.__keyframes ??= new Map<number, number>()) as Map<number, number>; // ssrc -> key frame timestamp
    if (self.keyframesReceived !== keyframesBefore) {
      add(who, 'keyframe in');
      open.set(h.ssrc, h.timestamp);
    }
    if (h.marker && open.get(h.ssrc) === h.timestamp) {
      add(who, 'keyframe complete (marker)');
      open.delete(h.ssrc);
    }
    return result;
  });
  wrap(Receiver.prototype, 'requestKeyframe', (self, _args, call) => {
    const who = owners.get(self) ?? '?';
    const sentBefore = self.keyframeRequestsSent as number;
    const result = call();
    if (self.kind === 'video') add(who, self.keyframeRequestsSent !== sentBefore ? 'pli sent' : 'pli deferred (throttled or no ssrc yet)');
    return result;
  });
  wrap(DownTrack.prototype, 'writeRtp', (self, _args, call) => {
    const before = self.packetsSent as number;
    const result = call();
    if (before === 0 && self.packetsSent !== 0) add(owners.get(self) ?? '?', 'first rtp forwarded');
    return result;
  });

  return {
    events,
    of: (identity) => events.filter((e) => e.who === identity || e.who.startsWith(`${identity}/`) || e.who.startsWith(`${identity} `)),
    first(identity, prefix) {
      return this.of(identity).find((e) => e.what.startsWith(prefix))?.atMs;
    },
    clear: () => {
      events.length = 0;
    },
  };
}
