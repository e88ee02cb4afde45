// One simulated participant against Janus's VideoRoom, with the same client role as `atrium load-test`: our own
// PeerConnection (packages/webrtc, client role), the load tester's media sources (synthetic VP8 simulcast / Opus
// with the latency trailer) and its per-subscription counters. Only the signalling differs: the Janus API over HTTP
// instead of LiveKit's protocol. A publisher joins and publishes with one offer (`joinandconfigure`); a subscriber
// joins one subscription handle for every feed (one PeerConnection, as Atrium's subscriber PC) and answers Janus's
// offer with `start`.
import type { UdpMux } from '@atrium/webrtc';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { extensionBlock } from '@atrium/cli/load-test/packetizer.js';
import { AudioSource, VideoSource } from '@atrium/cli/load-test/media-source.js';
import type { MediaSource } from '@atrium/cli/load-test/media-source.js';
import type { VideoLayerPlan } from '@atrium/cli/load-test/media-plan.js';
import { LOAD_OPUS, LOAD_VP8, LOAD_SEND_STAGES, bindLoadMux, senderExtensionIds } from '@atrium/cli/load-test/client-role.js';
import type { SubscriptionSink } from '@atrium/cli/load-test/load-participant.js';
import { JanusSession, createRoomRequest, publishRequest, subscribeRequest, highestLayerRequest } from './janus-api.js';
import type { JanusHandle, Jsep } from './janus-api.js';

export const VIDEOROOM = 'janus.plugin.videoroom';

/**
 * Our SDP writer prints host candidates as `a=candidate:candidate:1 ...` (the attribute name twice; Atrium's parser
 * takes it, Janus logs "Failed to add some remote candidates"). Janus is ICE-lite here and learns our address from
 * our checks anyway, but the line is written correctly for it.
 */
export function fixCandidateLines(sdp: string): string {
  return sdp.replace(/^a=candidate:candidate:/gm, 'a=candidate:');
}

/**
 * Our offer as Janus gets it. Our client PeerConnection is always the DTLS client; Janus, answering an `actpass`
 * offer, picks `active` (DTLS client) for itself, which our stack refuses, so we offer `active` (what we are) and
 * Janus answers `passive`.
 */
export function offerForJanus(sdp: string): string {
  return fixCandidateLines(sdp.replace(/^a=setup:actpass$/gm, 'a=setup:active'));
}

export interface JanusTrack {
  /** `<feed id>/<audio|video>`: what subscribers see as the track. */
  sid: string;
  kind: 'audio' | 'video';
  publisher: string;
  layers: readonly string[];
  source: MediaSource;
  publishedAtMs: number;
}

export interface JanusParticipantOptions {
  /** http://127.0.0.1:port/janus */
  url: string;
  room: number;
  identity: string;
  certificate: DtlsCertificate;
  localAddress: string;
  timeoutMs: number;
  onSubscribed?: (p: JanusParticipant, trackSid: string) => SubscriptionSink | undefined;
  onProblem?: (p: JanusParticipant, what: string) => void;
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** Creates the bench's VideoRoom room (a handle of its own, detached with its session by the caller). */
export async function createRoom(url: string, room: number, publishers: number): Promise<JanusSession> {
  const session = await JanusSession.create(url);
  const h = await session.attach(VIDEOROOM);
  const data = await h.request(createRoomRequest(room, publishers));
  if (data.videoroom !== 'created') throw new Error(`videoroom create: ${JSON.stringify(data)}`);
  return session;
}

export class JanusParticipant {
  readonly identity: string;
  readonly tracks: JanusTrack[] = [];
  /** The publisher's id in the room (its feed), once published. */
  feedId: number | undefined;
  private readonly opts: JanusParticipantOptions;
  private readonly session: JanusSession;
  private readonly muxes: UdpMux[] = [];
  private readonly pcs: PeerConnection[] = [];
  private subscriber: PeerConnection | undefined;
  /** Subscriber m-line (mid) -> track sid, from the `attached` event's stream list. */
  private readonly midToTrack = new Map<string, string>();
  private isClosed = false;
  private lastWarning: string | undefined;
  private streamsSeen = 0;

  private constructor(opts: JanusParticipantOptions, session: JanusSession) {
    this.opts = opts;
    this.identity = opts.identity;
    this.session = session;
    session.onError = (err) => {
      if (!this.isClosed) opts.onProblem?.(this, `janus long poll: ${err.message}`);
    };
  }

  static async join(opts: JanusParticipantOptions): Promise<JanusParticipant> {
    return new JanusParticipant(opts, await JanusSession.create(opts.url));
  }

  private newPc(mux: UdpMux): PeerConnection {
    const pc = new PeerConnection({
      role: 'client', mux, certificate: this.opts.certificate, advertisedAddress: this.opts.localAddress, sendStages: LOAD_SEND_STAGES,
      logger: {
        debug: () => {}, info: () => {},
        warn: (obj, msg) => (this.lastWarning = [typeof obj === 'string' ? obj : msg, typeof obj === 'object' ? JSON.stringify(obj) : ''].filter(Boolean).join(': ')),
        error: (obj, msg) => (this.lastWarning = [typeof obj === 'string' ? obj : msg].filter(Boolean).join(': ')),
        child() { return this; },
      },
    });
    this.pcs.push(pc);
    return pc;
  }

  /** Publishes a camera (its simulcast layers, low to high) and/or a microphone; resolves once media can flow. */
  async publish(what: { video?: readonly VideoLayerPlan[]; audio?: boolean }): Promise<void> {
    const handle = await this.session.attach(VIDEOROOM);
    const mux = await bindLoadMux(this.opts.localAddress);
    this.muxes.push(mux);
    const pc = this.newPc(mux);
    const senders: { sender: LocalSender; source: MediaSource; kind: 'audio' | 'video'; layers: readonly string[] }[] = [];
    if (what.audio === true) {
      const sender = pc.addSender({ kind: 'audio', streamId: 'mic-stream', trackId: 'mic', codec: LOAD_OPUS });
      senders.push({ sender, source: new AudioSource(sender), kind: 'audio', layers: [''] });
    }
    if (what.video !== undefined && what.video.length > 0) {
      const layers = what.video;
      const sender = pc.addSender({
        kind: 'video', streamId: 'cam-stream', trackId: 'cam', codec: LOAD_VP8,
        ...(layers.length > 1 ? { simulcast: layers.map((l) => ({ rid: l.rid })) } : {}),
      });
      senders.push({ sender, source: new VideoSource(sender, layers), kind: 'video', layers: layers.map((l) => l.rid) });
    }
    const offer: Jsep = { type: 'offer', sdp: offerForJanus(pc.createOffer()), rid_order: 'lmh' };
    const event = await handle.send(publishRequest(this.opts.room, this.identity, { audio: what.audio === true, video: what.video !== undefined }), offer, this.opts.timeoutMs);
    const data = event.plugindata!.data;
    this.feedId = data.id as number;
    if (event.jsep?.type !== 'answer') throw new Error(`janus publish: no answer (${JSON.stringify(data)})`);
    pc.handleAnswer(event.jsep.sdp);
    await handle.trickle('completed');
    for (const s of senders) s.source.configure(senderExtensionIds(s.sender), (ids, mid, rid, level) => extensionBlock(ids, mid, rid, level));
    await waitUntil(() => pc.connectionState === 'connected' || pc.connectionState === 'failed', this.opts.timeoutMs);
    if (pc.connectionState !== 'connected') throw new Error(`publisher connection ${pc.connectionState}${this.lastWarning ? ` (${this.lastWarning})` : ''}`);
    const now = performance.now();
    for (const s of senders) {
      this.tracks.push({ sid: `${this.feedId}/${s.kind}`, kind: s.kind, publisher: this.identity, layers: s.layers, source: s.source, publishedAtMs: now });
    }
  }

  /** Subscribes to every stream of `feeds` on one handle and one PeerConnection; resolves once connected. */
  async subscribe(feeds: readonly number[]): Promise<void> {
    const handle: JanusHandle = await this.session.attach(VIDEOROOM);
    const mux = await bindLoadMux(this.opts.localAddress);
    this.muxes.push(mux);
    const pc = this.newPc(mux);
    this.subscriber = pc;
    pc.on('remoteStream', (s) => this.onRemoteStream(s));
    const event = await handle.send(subscribeRequest(this.opts.room, feeds), undefined, this.opts.timeoutMs);
    const data = event.plugindata!.data;
    const streams = (data.streams as { mid: string; type: string; feed_id?: number; active?: boolean }[] | undefined) ?? [];
    for (const s of streams) if (s.feed_id !== undefined) this.midToTrack.set(s.mid, `${s.feed_id}/${s.type}`);
    if (event.jsep?.type !== 'offer') throw new Error(`janus subscribe: no offer (${JSON.stringify(data)})`);
    const answer = fixCandidateLines(pc.handleOffer(event.jsep.sdp));
    await handle.send({ request: 'start' }, { type: 'answer', sdp: answer }, this.opts.timeoutMs);
    await handle.trickle('completed');
    const videoMids = streams.filter((s) => s.type === 'video').map((s) => s.mid);
    if (videoMids.length > 0) await handle.send(highestLayerRequest(videoMids), undefined, this.opts.timeoutMs);
    await waitUntil(() => pc.connectionState === 'connected' || pc.connectionState === 'failed', this.opts.timeoutMs);
    if (pc.connectionState !== 'connected') throw new Error(`subscriber connection ${pc.connectionState}${this.lastWarning ? ` (${this.lastWarning})` : ''}`);
  }

  private onRemoteStream(s: RemoteStream): void {
    this.streamsSeen++;
    const trackSid = this.midToTrack.get(s.mid);
    const sink = trackSid !== undefined ? this.opts.onSubscribed?.(this, trackSid) : undefined;
    if (sink === undefined) return;
    s.onRtp = (buf, h, meta) => sink.onRtp(buf, h.payloadOffset, h.payloadLength, meta.extSeq, h.marker, meta.arrivalMs);
  }

  diagnostics(): string {
    const sub = this.subscriber;
    if (sub === undefined) return `publisher PC ${this.pcs[0]?.connectionState ?? 'none'}`;
    return `subscriber PC ${sub.connectionState}${this.lastWarning !== undefined ? ` (${this.lastWarning})` : ''}, ${this.streamsSeen} streams`;
  }

  async leave(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const t of this.tracks) t.source.stop();
    for (const pc of this.pcs) pc.close();
    await this.session.destroy();
    await Promise.all(this.muxes.map((m) => m.close()));
  }
}
