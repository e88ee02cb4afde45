// Media for `atrium publish`: RTP that ffmpeg packetized (VP8 or Opus, payload untouched) sent on as one of our
// senders' streams, with the sender's SSRC, payload type, sequence numbers and header extensions (mid, and the
// transport-wide sequence our send stages stamp); timestamps keep ffmpeg's spacing from a random base.
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { createRtpHeader, parseRtpHeader } from '@atrium/webrtc';
import { SingleStreamSource } from '../load-test/media-source.js';

export class RelaySource extends SingleStreamSource {
  readonly kind: 'audio' | 'video';
  private readonly header = createRtpHeader();
  private firstTimestamp: number | undefined;
  framesSent = 0;
  /** Packets from ffmpeg that were not RTP (never expected; counted, not sent). */
  malformed = 0;

  constructor(kind: 'audio' | 'video', sender: LocalSender) {
    super(sender);
    this.kind = kind;
  }

  /** The sources are driven by ffmpeg's packets, not by the clock. */
  tick(): void {}

  /** One RTP packet from ffmpeg; dropped until the sender is negotiated and after stop(). */
  push(packet: Buffer): void {
    if (!this.isStarted || this.isStopped) return;
    const h = this.header;
    if (!parseRtpHeader(packet, h)) {
      this.malformed++;
      return;
    }
    this.firstTimestamp ??= h.timestamp;
    const timestamp = (this.timestampBase + ((h.timestamp - this.firstTimestamp) >>> 0)) >>> 0;
    const { buf, payloadOffset } = this.writer.packet(h.payloadLength, timestamp, h.marker);
    packet.copy(buf, payloadOffset, h.payloadOffset, h.payloadOffset + h.payloadLength);
    if (h.marker || this.kind === 'audio') this.framesSent++;
    this.sender.sendRtp(buf);
  }
}
