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
    this.pending++;
    this.socket.send(out, this.port, '127.0.0.1', () => {
      this.pending--;
    });
    this.packetsSent++;
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
