// The SDP ffmpeg reads to receive RTP streams on loopback UDP ports, one m-line each (RFC 4566; RTP payload formats:
// RFC 7587 Opus, RFC 7741 VP8, RFC 6184 H.264). Streams are re-stamped with RTP_PAYLOAD_TYPE before they are sent.
import type { RtpFormat } from './track-container.js';

export const RTP_PAYLOAD_TYPE = 96;

export function ffmpegSdp(streams: readonly { format: RtpFormat; port: number }[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=atrium egress', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const { format: f, port } of streams) {
    const media = f.encodingName === 'opus' ? 'audio' : 'video';
    lines.push(`m=${media} ${port} RTP/AVP ${RTP_PAYLOAD_TYPE}`);
    lines.push(`a=rtpmap:${RTP_PAYLOAD_TYPE} ${f.encodingName}/${f.clockRate}${f.channels !== undefined ? `/${f.channels}` : ''}`);
    if (f.encodingName === 'H264') lines.push(`a=fmtp:${RTP_PAYLOAD_TYPE} packetization-mode=1`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
