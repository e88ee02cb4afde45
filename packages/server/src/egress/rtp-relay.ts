// Hands a subscribed track's RTP to ffmpeg over loopback UDP: from the first key frame on (video), every packet
// re-stamped with the payload type of ffmpeg's SDP. Sends never wait: past MAX_PENDING_SENDS unfinished sends a
// packet is dropped and counted, so a slow ffmpeg can never hold up the room. Also measures the media time written
// (RTP timestamp span) for the file result.
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { RtpHeader } from '@atrium/webrtc';
import type { SenderReport } from '@atrium/webrtc/rtp/rtcp-types.js';
import { serializeSenderReport } from '@atrium/webrtc/rtp/rtcp-reports.js';
import { CodecKind, codecKindFromMime, isKeyframeStart } from '../sfu/codec/keyframe.js';
import type { CodecKindValue } from '../sfu/codec/keyframe.js';
import { RTP_PAYLOAD_TYPE } from './rtp-sdp.js';

export const MAX_PENDING_SENDS = 256;

export class RtpRelay {
  readonly clockRate: number;
  private readonly codec: CodecKindValue;
  private readonly port: number;
  private readonly socket: Socket;
  private pending = 0;
  private isStarted = false;
  private isClosed = false;
  /** RTP timestamp span covered so far, unwrapped (timestamps are 32-bit and wrap). */
  private spanTicks = 0;
  private lastTimestamp = 0;
  packetsSent = 0;
  packetsDropped = 0;
  /** The last packet handed to ffmpeg (re-stamped), for wake(). */
  private lastSent: Buffer | undefined;
  private lastSentAtMs = 0;
  /** Called once, at the first packet handed to ffmpeg. */
  onStart: () => void = () => {};
  /** Called for video packets before the first key frame (ask the publisher for one). */
  onNeedKeyFrame: () => void = () => {};

  constructor(opts: { mimeType: string; clockRate: number; port: number }) {
    this.codec = codecKindFromMime(opts.mimeType);
    this.clockRate = opts.clockRate;
    this.port = opts.port;
    this.socket = createSocket('udp4');
    this.socket.on('error', () => {});
  }

  /** Media time written so far, ms. */
  get durationMs(): number {
    return (this.spanTicks / this.clockRate) * 1000;
  }

  handle(buf: Buffer, h: RtpHeader): void {
    if (this.isClosed) return;
    const payloadOffset = h.payloadOffset;
    // padding-only packets (bandwidth probes) carry no media
    if (h.payloadLength === 0) return;
    if (!this.isStarted) {
      if (this.codec !== CodecKind.AUDIO && !isKeyframeStart(this.codec, buf, payloadOffset, h.payloadLength)) {
        this.onNeedKeyFrame();
        return;
      }
      this.isStarted = true;
      this.lastTimestamp = h.timestamp;
      this.onStart();
    } else {
      // signed 32-bit difference: a late (reordered) packet moves nothing back
      const delta = (h.timestamp - this.lastTimestamp) | 0;
      if (delta > 0) {
        this.spanTicks += delta;
        this.lastTimestamp = h.timestamp;
      }
    }
    if (this.pending >= MAX_PENDING_SENDS) {
      this.packetsDropped++;
      return;
    }
    // a copy: the stack reuses `buf` after this call, and the send completes later
    const out = Buffer.from(buf.subarray(0, payloadOffset + h.payloadLength + h.paddingLength));
    out[1] = (out[1]! & 0x80) | RTP_PAYLOAD_TYPE;
    this.send(out);
    this.packetsSent++;
  }

  private send(out: Buffer): void {
    this.lastSent = out;
    this.lastSentAtMs = performance.now();
    this.pending++;
    this.socket.send(out, this.port, '127.0.0.1', () => {
      this.pending--;
    });
  }

  /**
   * Wakes an ffmpeg that waits for a packet (it reads its 'q' only between packets; the track may be muted or gone):
   * when nothing was sent for `idleMs`, one packet that adds nothing to the output goes out, the next sequence number
   * after the last one with a later timestamp: for audio an Opus packet without frames (the decoder's "no data"),
   * for video the last packet again (usually the end of a frame without its start, which the depacketizer drops; a
   * frame of one packet is shown once more, 33 ms). False when nothing was ever sent (there is nothing to finalize).
   */
  wake(idleMs = 200): boolean {
    const last = this.lastSent;
    if (this.isClosed || !last) return false;
    if (performance.now() - this.lastSentAtMs < idleMs) return true;
    const headerLength = last.length - this.payloadLengthOf(last);
    const unpadded = last[0]! & 0x20 ? last.subarray(0, last.length - last[last.length - 1]!) : last;
    const out = this.codec === CodecKind.AUDIO ? Buffer.from(last.subarray(0, headerLength + 1)) : Buffer.from(unpadded);
    out[0] = out[0]! & ~0x20; // no padding
    out.writeUInt16BE((last.readUInt16BE(2) + 1) & 0xffff, 2);
    const step = this.codec === CodecKind.AUDIO ? 960 : 3000;
    out.writeUInt32BE((last.readUInt32BE(4) + step) >>> 0, 4);
    this.send(out);
    return true;
  }

  /** Payload + padding bytes of a packet this relay sent (its header length from the CSRC count and extension). */
  private payloadLengthOf(pkt: Buffer): number {
    let offset = 12 + (pkt[0]! & 0x0f) * 4;
    if (pkt[0]! & 0x10) offset += 4 + pkt.readUInt16BE(offset + 2) * 4;
    return pkt.length - offset;
  }

  /**
   * Passes the sender's report (RTCP SR, RFC 3550 6.4.1) to ffmpeg's RTCP port: its NTP/RTP pairs are how ffmpeg
   * puts the streams of one file on a common clock (A/V sync). Not before the first packet written.
   */
  forwardSenderReport(sr: SenderReport): void {
    if (this.isClosed || !this.isStarted || this.pending >= MAX_PENDING_SENDS) return;
    const out = serializeSenderReport({ ...sr, reports: [] });
    this.pending++;
    this.socket.send(out, this.port + 1, '127.0.0.1', () => {
      this.pending--;
    });
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.close();
  }
}
