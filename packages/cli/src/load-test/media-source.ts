// The media a simulated participant sends, paced by the load tester's clock: `tick(nowMs)` sends every frame that is
// due. Video: one VP8 stream per layer (simulcast: one SSRC and rid each), a key frame every 2 s and on PLI/FIR for
// that layer (at most one per 300 ms); audio: an Opus frame every 20 ms while talking, and while silent (--talkers)
// one every 400 ms, as Opus with DTX sends in silence. RTP timestamps follow the clock.
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { OPUS_FRAME_MS, OPUS_SAMPLES_PER_FRAME, frameSizes, opusSizes } from './media-plan.js';
import type { VideoLayerPlan } from './media-plan.js';
import { RtpStreamWriter, Vp8Packetizer, opusPacket, wallClockMs } from './packetizer.js';
import type { ExtensionIds } from './packetizer.js';

type BlockFn = (ids: ExtensionIds, mid: string, rid: string, audioLevel?: number) => Buffer;

/** If a source falls further behind than this (a stalled event loop), it skips ahead instead of bursting. */
const MAX_CATCH_UP_MS = 500;
const MIN_KEYFRAME_GAP_MS = 300;
/** Opus DTX: in silence, one frame in this many (400 ms: what libwebrtc's Opus sends with DTX on). */
const DTX_FRAME_INTERVAL = 20;
/** A silent frame's payload (comfort noise: a few bytes; ours also carries the 12-byte trailer). */
const DTX_PAYLOAD_BYTES = 16;
/** Audio levels (-dBov) the level extension carries: a talker's, and silence. */
const TALKING_LEVEL = 30;
const SILENT_LEVEL = 127;

export interface MediaSource {
  readonly kind: 'audio' | 'video';
  /** Called once the answer fixed the header extension ids; nothing is sent before. */
  configure(ids: ExtensionIds, block: BlockFn): void;
  tick(nowMs: number): void;
  stop(): void;
  readonly packetsSent: number;
  readonly bytesSent: number;
  readonly framesSent: number;
}

interface LayerState {
  plan: VideoLayerPlan;
  writer: RtpStreamWriter;
  packetizer: Vp8Packetizer;
  sizes: number[];
  frame: number;
  nextMs: number;
  intervalMs: number;
  wantsKeyframe: boolean;
  lastKeyframeMs: number;
  keyframeRequests: number;
}

export class VideoSource implements MediaSource {
  readonly kind = 'video' as const;
  private readonly sender: LocalSender;
  private readonly layers: LayerState[];
  private isStarted = false;
  private isStopped = false;
  private startMs = 0;
  private readonly timestampBase = Math.floor(Math.random() * 0x7fffffff);

  constructor(sender: LocalSender, plans: readonly VideoLayerPlan[]) {
    this.sender = sender;
    this.layers = plans.map((plan, i) => ({
      plan,
      writer: new RtpStreamWriter({ ssrc: sender.layers[i]?.ssrc ?? sender.ssrc, payloadType: sender.payloadType, extensions: Buffer.alloc(0) }),
      packetizer: new Vp8Packetizer(plan.width, plan.height),
      sizes: frameSizes(plan, i + 1),
      frame: 0,
      nextMs: 0,
      intervalMs: 1000 / plan.fps,
      wantsKeyframe: true,
      lastKeyframeMs: -Infinity,
      keyframeRequests: 0,
    }));
    sender.onRtcp = (pkt) => {
      if (pkt.type === 'pli') this.requestKeyframe(pkt.mediaSsrc);
      else if (pkt.type === 'fir') for (const e of pkt.entries) this.requestKeyframe(e.ssrc);
    };
  }

  get packetsSent(): number {
    return this.layers.reduce((n, l) => n + l.writer.packetsWritten, 0);
  }
  get bytesSent(): number {
    return this.layers.reduce((n, l) => n + l.writer.bytesWritten, 0);
  }
  get framesSent(): number {
    return this.layers.reduce((n, l) => n + l.packetizer.framesWritten, 0);
  }
  get keyframeRequests(): number {
    return this.layers.reduce((n, l) => n + l.keyframeRequests, 0);
  }

  private requestKeyframe(ssrc: number): void {
    for (const l of this.layers) {
      if (l.writer.ssrc === ssrc) {
        l.wantsKeyframe = true;
        l.keyframeRequests++;
      }
    }
  }

  configure(ids: ExtensionIds, block: BlockFn): void {
    for (const l of this.layers) {
      l.writer.payloadType = this.sender.payloadType;
      l.writer.setExtensions(block(ids, this.sender.mid, this.layers.length > 1 ? l.plan.rid : ''));
    }
    this.isStarted = true;
  }

  tick(nowMs: number): void {
    if (!this.isStarted || this.isStopped) return;
    if (this.startMs === 0) {
      this.startMs = nowMs;
      for (const l of this.layers) l.nextMs = nowMs;
    }
    for (const l of this.layers) {
      if (nowMs - l.nextMs > MAX_CATCH_UP_MS) l.nextMs = nowMs;
      while (l.nextMs <= nowMs + 1e-6) {
        const isKeyframe = l.frame % l.sizes.length === 0 || (l.wantsKeyframe && nowMs - l.lastKeyframeMs >= MIN_KEYFRAME_GAP_MS);
        if (isKeyframe) {
          l.frame = 0; // the group starts again, so the next periodic key frame is 2 s later
          l.wantsKeyframe = false;
          l.lastKeyframeMs = nowMs;
        }
        const timestamp = (this.timestampBase + Math.round((l.nextMs - this.startMs) * 90)) >>> 0;
        const packets = l.packetizer.frame(l.writer, { frameBytes: l.sizes[l.frame % l.sizes.length]!, isKeyframe, timestamp, sentAtMs: wallClockMs() });
        for (const p of packets) this.sender.sendRtp(p);
        l.frame++;
        l.nextMs += l.intervalMs;
      }
    }
  }

  stop(): void {
    this.isStopped = true;
  }
}

/**
 * A source of one RTP stream on one sender (one SSRC): the writer that numbers its packets, the random timestamp base,
 * and the started/stopped state. Subclasses decide what is sent and when.
 */
export abstract class SingleStreamSource implements MediaSource {
  abstract readonly kind: 'audio' | 'video';
  protected readonly sender: LocalSender;
  protected readonly writer: RtpStreamWriter;
  protected readonly timestampBase = Math.floor(Math.random() * 0x7fffffff);
  protected isStarted = false;
  protected isStopped = false;

  constructor(sender: LocalSender) {
    this.sender = sender;
    this.writer = new RtpStreamWriter({ ssrc: sender.ssrc, payloadType: sender.payloadType, extensions: Buffer.alloc(0) });
  }

  get packetsSent(): number {
    return this.writer.packetsWritten;
  }
  get bytesSent(): number {
    return this.writer.bytesWritten;
  }
  abstract readonly framesSent: number;

  /** The audio level (-dBov) the header-extension block carries, if any. */
  protected get audioLevel(): number | undefined {
    return undefined;
  }

  configure(ids: ExtensionIds, block: BlockFn): void {
    this.writer.payloadType = this.sender.payloadType;
    this.writer.setExtensions(block(ids, this.sender.mid, '', this.audioLevel));
    this.isStarted = true;
  }

  abstract tick(nowMs: number): void;

  stop(): void {
    this.isStopped = true;
  }
}

export class AudioSource extends SingleStreamSource {
  readonly kind = 'audio' as const;
  private readonly sizes = opusSizes();
  private frame = 0;
  private nextMs = 0;
  /** Talking (the default): a frame every 20 ms at level 30 -dBov, so servers rank it as a speaker. */
  private isTalkingNow = true;
  /** The extension blocks for talking and for silence (set by configure). */
  private talkingBlock: Buffer | undefined;
  private silentBlock: Buffer | undefined;

  get framesSent(): number {
    return this.writer.packetsWritten;
  }

  get isTalking(): boolean {
    return this.isTalkingNow;
  }

  protected override get audioLevel(): number {
    return this.isTalkingNow ? TALKING_LEVEL : SILENT_LEVEL;
  }

  override configure(ids: ExtensionIds, block: BlockFn): void {
    super.configure(ids, block);
    this.talkingBlock = block(ids, this.sender.mid, '', TALKING_LEVEL);
    this.silentBlock = block(ids, this.sender.mid, '', SILENT_LEVEL);
  }

  /** Talking, or silent: Opus DTX, one small frame every 400 ms at the level of silence (--talkers). */
  setTalking(isTalking: boolean): void {
    if (isTalking === this.isTalkingNow) return;
    this.isTalkingNow = isTalking;
    const ext = isTalking ? this.talkingBlock : this.silentBlock;
    if (ext !== undefined) this.writer.setExtensions(ext);
  }

  tick(nowMs: number): void {
    if (!this.isStarted || this.isStopped) return;
    if (this.nextMs === 0) this.nextMs = nowMs;
    if (nowMs - this.nextMs > MAX_CATCH_UP_MS) {
      // keep the RTP clock in step with the wall clock across a stall
      const skipped = Math.floor((nowMs - this.nextMs) / OPUS_FRAME_MS);
      this.frame += skipped;
      this.nextMs += skipped * OPUS_FRAME_MS;
    }
    while (this.nextMs <= nowMs) {
      if (this.isTalkingNow || this.frame % DTX_FRAME_INTERVAL === 0) {
        const timestamp = (this.timestampBase + this.frame * OPUS_SAMPLES_PER_FRAME) >>> 0;
        const payloadBytes = this.isTalkingNow ? this.sizes[this.frame % this.sizes.length]! : DTX_PAYLOAD_BYTES;
        this.sender.sendRtp(opusPacket(this.writer, { payloadBytes, timestamp, sentAtMs: wallClockMs() }));
      }
      this.frame++;
      this.nextMs += OPUS_FRAME_MS;
    }
  }
}
