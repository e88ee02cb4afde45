// Pipes between media workers: a room that spans workers has each published track received on one worker (its
// publisher's) and mirrored on every other worker that has subscribers of it (mediasoup's pipe transports are the
// model, within one process). The origin's Receiver feeds a PipeSender (one more TrackSender) that copies each packet
// into the outbox of the destination worker; the outbox goes over that pair's MessagePort once per event-loop turn as
// one transferred buffer. On the destination, a mirror Receiver takes the packets as if they came from a transport,
// so subscribers there have their own cache, forwarders, allocators and pacing. Back the other way: key frame
// requests, dynacast needs, and opening/closing of pipes. A packet crosses at most one pipe.
import type { MessagePort } from 'node:worker_threads';
import type { Clock, Logger } from '@atrium/webrtc';
import type { CodecParams, HeaderExtension } from '@atrium/webrtc';
import { createRtpHeader, parseRtpHeader } from '@atrium/webrtc/rtp/index.js';
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import type { RtpReceiveMeta } from '@atrium/webrtc/stages/rtp-stage.js';
import { Receiver } from '../sfu/receiver.js';
import type { PacketInfo, TrackSender } from '../sfu/down-track-source.js';
import type { DynacastSink } from '../sfu/dynacast.js';
import type { AudioLevelParams } from '../sfu/audio-level.js';
import type { LayerSpec } from '../sfu/video-layers.js';
import { PublishedTrackSource, type AudioFeatures } from '../rtc/webrtc-track-source.js';
import type { MediaKind } from '../rtc/participant-media.js';

/** What a worker without the track needs to mirror it: fixed when the track is published. */
export interface SourceDescriptor {
  kind: MediaKind;
  codec: CodecParams;
  /** The publisher's payload types by lower-case mime type. */
  payloadTypes: [string, number][];
  publisherExtensions: HeaderExtension[];
  rids: string[];
}

/** What the room logic set on the track since (TrackInfo): a mirror starts with it and follows its changes. */
export interface SourceState {
  muted: boolean;
  videoLayers: LayerSpec[];
  width: number;
  height: number;
  audioFeatures: AudioFeatures;
  backupCodecs: { mimeType: string; layers: LayerSpec[] }[];
}

/** A track on its origin worker, as named to other workers. */
export interface SourceRef {
  /** The origin worker's index. */
  worker: number;
  /** The track's id on its origin worker. */
  sourceId: number;
}

export interface MirrorSpec extends SourceRef {
  descriptor: SourceDescriptor;
  state: SourceState;
  /** Backup codecs of the track being published now (each its own source on the origin). */
  backups: MirrorSpec[];
}

/** Messages on a worker pair's port. */
export type PipeMessage =
  /** Destination -> origin. */
  | { t: 'open'; sourceId: number }
  | { t: 'close'; sourceId: number }
  | { t: 'keyframe'; sourceId: number; ssrc: number }
  | { t: 'dynacast'; sourceId: number; op: 'addCodec' | 'set' | 'remove'; mimeType: string; subscriberId: string; spatial: number }
  /** Origin -> destination. */
  | { t: 'rtp'; data: ArrayBuffer }
  | { t: 'sr'; sourceId: number; ssrc: number; spatial: number; ntpWallMs: number; rtpTimestamp: number }
  | { t: 'muted'; sourceId: number; muted: boolean }
  | { t: 'ended'; sourceId: number };

/** Per packet in an `rtp` batch: source id u32, spatial u8, pad u8, length u16, extended sequence number f64, bytes. */
const RECORD_HEADER = 16;
const OUTBOX_BYTES = 256 * 1024;
/** SR mappings are passed on at most this often per pipe (publishers send SRs about once a second). */
const SR_CHECK_MS = 250;

/** What a worker's pipe endpoints need of it. */
export interface PipeHost {
  clock: Clock;
  logger: Logger;
  /** A track published on this worker, by id (undefined once it ended). */
  localSource(sourceId: number): PublishedTrackSource | undefined;
  audioLevel?: Partial<AudioLevelParams>;
}

/** This worker's end of the port to one other worker: the origin side of its pipes and the mirrors it holds. */
export class PipePeer {
  readonly peer: number;
  private readonly port: MessagePort;
  private readonly host: PipeHost;
  // origin side
  private readonly senders = new Map<number, PipeSender>();
  private outbox = new Uint8Array(OUTBOX_BYTES);
  private outView = new DataView(this.outbox.buffer);
  private outLength = 0;
  private isFlushScheduled = false;
  private srTimer: ReturnType<typeof setInterval> | undefined;
  // destination side
  private readonly mirrors = new Map<number, Mirror>();
  private readonly header: RtpHeader = createRtpHeader();
  private readonly meta: RtpReceiveMeta = { extSeq: 0, arrivalMs: 0 };
  private isClosed = false;
  /** Packets sent and received through this port (tests, /debug). */
  packetsOut = 0;
  packetsIn = 0;

  constructor(opts: { peer: number; port: MessagePort; host: PipeHost }) {
    this.peer = opts.peer;
    this.port = opts.port;
    this.host = opts.host;
    this.port.on('message', (m: PipeMessage) => this.onMessage(m));
    // The other worker died (its end of the port went with it): its tracks end here, and ours stop going there.
    this.port.on('close', () => {
      if (!this.isClosed) this.host.logger.warn({ peer: this.peer }, 'the pipe port to another media worker closed');
      this.close();
    });
    this.port.start?.();
  }

  get openPipes(): number {
    return this.senders.size;
  }
  get mirrorCount(): number {
    return this.mirrors.size;
  }

  // ---- destination side ----

  /** The mirror of a track of the peer worker, created (and its pipe opened) on first use. */
  mirror(spec: MirrorSpec): PublishedTrackSource {
    let m = this.mirrors.get(spec.sourceId);
    if (m === undefined) {
      m = this.createMirror(spec);
      for (const b of spec.backups) m.source.addBackupCodec(this.mirror(b));
    }
    return m.source;
  }

  /** The mirror of `sourceId` if held. */
  mirrorOf(sourceId: number): PublishedTrackSource | undefined {
    return this.mirrors.get(sourceId)?.source;
  }

  /** Nobody on this worker subscribes to the track any more: the mirror closes and the origin stops sending. */
  releaseMirror(sourceId: number): void {
    const m = this.mirrors.get(sourceId);
    if (m === undefined) return;
    this.mirrors.delete(sourceId);
    this.post({ t: 'close', sourceId });
    m.source.close();
  }

  private createMirror(spec: MirrorSpec): Mirror {
    const { descriptor, state } = spec;
    const sourceId = spec.sourceId;
    const receiver = new Receiver({
      kind: descriptor.kind,
      mimeType: descriptor.codec.mimeType,
      clockRate: descriptor.codec.clockRate,
      clock: this.host.clock,
      logger: this.host.logger.child({ mirrorOf: `${this.peer}:${sourceId}` }),
      // A key frame request names the stream by SSRC (RTCP PLI: media SSRC at byte 8); the origin's receiver sends it.
      // Relayed at once: the origin's receiver throttles what reaches the publisher (each DownTrack throttles its own
      // asks). A second throttle here made a joiner on this worker wait for both.
      keyframeRequestIntervalMs: 0,
      sendRtcp: (pkt) => {
        if (pkt.length >= 12) this.post({ t: 'keyframe', sourceId, ssrc: pkt.readUInt32BE(8) });
      },
      ...(this.host.audioLevel ? { audioLevel: this.host.audioLevel } : {}),
    });
    const dynacast: DynacastSink = {
      addCodec: (mimeType) => this.post({ t: 'dynacast', sourceId, op: 'addCodec', mimeType, subscriberId: '', spatial: 0 }),
      setSubscriberMaxSpatial: (mimeType, subscriberId, spatial) =>
        this.post({ t: 'dynacast', sourceId, op: 'set', mimeType, subscriberId, spatial }),
      removeSubscriber: (subscriberId) => this.post({ t: 'dynacast', sourceId, op: 'remove', mimeType: '', subscriberId, spatial: 0 }),
      close: () => {},
    };
    const source = new PublishedTrackSource({
      receiver,
      kind: descriptor.kind,
      codec: descriptor.codec,
      payloadTypes: new Map(descriptor.payloadTypes),
      publisherExtensions: descriptor.publisherExtensions,
      rids: descriptor.rids,
      clock: this.host.clock,
      dynacast,
    });
    applyState(source, state);
    const m: Mirror = { source, receiver, ssrcs: [] };
    this.mirrors.set(sourceId, m);
    this.post({ t: 'open', sourceId });
    return m;
  }

  private onRtpBatch(data: ArrayBuffer): void {
    const bytes = new Uint8Array(data);
    const view = new DataView(data);
    const h = this.header;
    const meta = this.meta;
    meta.arrivalMs = this.host.clock.nowMs();
    let off = 0;
    while (off + RECORD_HEADER <= bytes.length) {
      const sourceId = view.getUint32(off, true);
      const spatial = bytes[off + 4]!;
      const len = view.getUint16(off + 6, true);
      const extSeq = view.getFloat64(off + 8, true);
      const start = off + RECORD_HEADER;
      off = start + len;
      const m = this.mirrors.get(sourceId);
      if (m === undefined) continue;
      const pkt = Buffer.from(data, start, len);
      if (!parseRtpHeader(pkt, h)) continue;
      if (!m.ssrcs.includes(h.ssrc)) {
        m.receiver.bindStream(h.ssrc, spatial);
        m.ssrcs.push(h.ssrc);
      }
      meta.extSeq = extSeq;
      this.packetsIn++;
      m.receiver.writeRtp(pkt, h, meta);
    }
  }

  // ---- origin side ----

  private openPipe(sourceId: number): void {
    if (this.senders.has(sourceId)) return;
    const source = this.host.localSource(sourceId);
    if (source === undefined) {
      this.post({ t: 'ended', sourceId });
      return;
    }
    const sender = new PipeSender(this, sourceId, source);
    this.senders.set(sourceId, sender);
    source.receiver.addSender(sender);
    // The destination's subscribers start at a key frame.
    source.receiver.requestKeyframe();
    this.srTimer ??= setInterval(() => this.passSenderReports(), SR_CHECK_MS);
    this.srTimer.unref?.();
  }

  private closePipe(sourceId: number): void {
    const sender = this.senders.get(sourceId);
    if (sender === undefined) return;
    this.senders.delete(sourceId);
    sender.source.receiver.removeSender(sender);
    if (this.senders.size === 0 && this.srTimer !== undefined) {
      clearInterval(this.srTimer);
      this.srTimer = undefined;
    }
  }

  /** Called by a PipeSender per packet (hot path): one copy into the outbox. */
  write(sourceId: number, buf: Uint8Array, info: PacketInfo, spatial: number): void {
    const len = buf.length;
    if (this.outLength + RECORD_HEADER + len > this.outbox.length) this.flush();
    const off = this.outLength;
    const view = this.outView;
    view.setUint32(off, sourceId, true);
    this.outbox[off + 4] = spatial;
    this.outbox[off + 5] = 0;
    view.setUint16(off + 6, len, true);
    view.setFloat64(off + 8, info.extSeq, true);
    this.outbox.set(buf, off + RECORD_HEADER);
    this.outLength = off + RECORD_HEADER + len;
    this.packetsOut++;
    if (!this.isFlushScheduled) {
      this.isFlushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what the outbox holds (also before any control message, which must not overtake packets). */
  flush(): void {
    this.isFlushScheduled = false;
    if (this.outLength === 0 || this.isClosed) return;
    const data = this.outbox.slice(0, this.outLength).buffer;
    this.outLength = 0;
    this.port.postMessage({ t: 'rtp', data } satisfies PipeMessage, [data]);
  }

  private passSenderReports(): void {
    for (const [sourceId, sender] of this.senders) {
      const receiver = sender.source.receiver;
      for (let i = 0; i < receiver.streamCount; i++) {
        const stream = receiver.stream(i);
        const sr = stream?.senderReport;
        if (stream === undefined || sr === undefined || sr.receivedAtMs <= (sender.srSentAtMs[i] ?? -Infinity)) continue;
        sender.srSentAtMs[i] = sr.receivedAtMs;
        this.post({ t: 'sr', sourceId, ssrc: stream.ssrc, spatial: stream.spatial, ntpWallMs: sr.ntpWallMs, rtpTimestamp: sr.rtpTimestamp });
      }
    }
  }

  /** The origin track ended or muted: said to the destination after the packets already written. */
  sourceEnded(sender: PipeSender): void {
    if (this.senders.get(sender.sourceId) !== sender) return;
    this.senders.delete(sender.sourceId);
    this.post({ t: 'ended', sourceId: sender.sourceId });
  }

  // ---- both ----

  post(m: PipeMessage): void {
    if (this.isClosed) return;
    if (m.t !== 'rtp') this.flush();
    this.port.postMessage(m);
  }

  private onMessage(m: PipeMessage): void {
    try {
      switch (m.t) {
        case 'rtp':
          this.onRtpBatch(m.data);
          return;
        case 'open':
          this.openPipe(m.sourceId);
          return;
        case 'close':
          this.closePipe(m.sourceId);
          return;
        case 'keyframe': {
          const receiver = this.senders.get(m.sourceId)?.source.receiver;
          if (receiver === undefined) return;
          for (let i = 0; i < receiver.streamCount; i++) {
            if (receiver.stream(i)?.ssrc === m.ssrc) receiver.requestKeyframe(i);
          }
          return;
        }
        case 'dynacast': {
          const dynacast = this.senders.get(m.sourceId)?.source.dynacast ?? this.host.localSource(m.sourceId)?.dynacast;
          if (!dynacast) return;
          if (m.op === 'addCodec') dynacast.addCodec(m.mimeType);
          else if (m.op === 'set') dynacast.setSubscriberMaxSpatial(m.mimeType, m.subscriberId, m.spatial);
          else dynacast.removeSubscriber(m.subscriberId);
          return;
        }
        case 'sr': {
          const mirror = this.mirrors.get(m.sourceId);
          if (mirror === undefined) return;
          const i = mirror.receiver.bindStream(m.ssrc, m.spatial);
          if (!mirror.ssrcs.includes(m.ssrc)) mirror.ssrcs.push(m.ssrc);
          mirror.receiver.stream(i)?.setSenderReport(m.ntpWallMs, m.rtpTimestamp, this.host.clock.nowMs());
          return;
        }
        case 'muted':
          this.mirrors.get(m.sourceId)?.source.setMuted(m.muted);
          return;
        case 'ended': {
          const mirror = this.mirrors.get(m.sourceId);
          if (mirror === undefined) return;
          this.mirrors.delete(m.sourceId);
          mirror.source.close();
          return;
        }
      }
    } catch (err) {
      this.host.logger.warn({ err, peer: this.peer, type: m.t }, 'pipe message failed');
    }
  }

  close(): void {
    if (this.isClosed) return;
    for (const sourceId of [...this.senders.keys()]) this.closePipe(sourceId);
    for (const m of this.mirrors.values()) m.source.close();
    this.mirrors.clear();
    this.isClosed = true;
    if (this.srTimer !== undefined) clearInterval(this.srTimer);
    this.port.close();
  }
}

interface Mirror {
  source: PublishedTrackSource;
  receiver: Receiver;
  /** SSRCs already bound to a stream of the mirror's receiver. */
  ssrcs: number[];
}

/** The origin end of one pipe: a TrackSender on the track's Receiver that writes into the peer's outbox. */
class PipeSender implements TrackSender {
  readonly srSentAtMs: number[] = [];
  constructor(
    private readonly peer: PipePeer,
    readonly sourceId: number,
    readonly source: PublishedTrackSource,
  ) {}

  writeRtp(buf: Uint8Array, _h: RtpHeader, info: PacketInfo): void {
    // The stream's own layer (simulcast index): the mirror adds the SVC layers read from the payload itself.
    const stream = this.source.receiver.stream(info.sourceId);
    this.peer.write(this.sourceId, buf, info, stream?.spatial ?? 0);
  }

  setSourceMuted(muted: boolean): void {
    this.peer.post({ t: 'muted', sourceId: this.sourceId, muted });
  }

  onSourceLayersChanged(): void {}

  close(): void {
    this.peer.sourceEnded(this);
  }
}

/** Sets what the room logic said of a track (TrackInfo) on a mirror of it. */
export function applyState(source: PublishedTrackSource, state: SourceState): void {
  if (source.kind === 'video') source.setVideoLayers(state.videoLayers, state.width, state.height);
  else source.setAudioFeatures(state.audioFeatures);
  if (state.backupCodecs.length > 0) source.setBackupCodecs(state.backupCodecs);
  source.setMuted(state.muted);
}

/** The descriptor of a published track, for mirrors of it on other workers. */
export function describeSource(source: PublishedTrackSource): SourceDescriptor {
  return {
    kind: source.kind,
    codec: source.codec,
    payloadTypes: [...source.payloadTypes],
    publisherExtensions: [...source.publisherExtensions],
    rids: [...source.rids],
  };
}
