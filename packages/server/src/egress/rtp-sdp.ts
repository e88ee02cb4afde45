// The SDP ffmpeg reads to receive one RTP stream on a loopback UDP port (RFC 4566; RTP payload formats: RFC 7587 Opus,
// RFC 7741 VP8, RFC 6184 H.264). The stream is re-stamped with RTP_PAYLOAD_TYPE before it is sent to ffmpeg.
import type { TrackContainer } from './track-container.js';

export const RTP_PAYLOAD_TYPE = 96;

export function ffmpegSdp(c: TrackContainer, port: number): string {
  const media = c.encodingName === 'opus' ? 'audio' : 'video';
  const rtpmap = `${c.encodingName}/${c.clockRate}${c.channels !== undefined ? `/${c.channels}` : ''}`;
  const lines = [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=atrium egress',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=${media} ${port} RTP/AVP ${RTP_PAYLOAD_TYPE}`,
    `a=rtpmap:${RTP_PAYLOAD_TYPE} ${rtpmap}`,
  ];
  if (c.encodingName === 'H264') lines.push(`a=fmtp:${RTP_PAYLOAD_TYPE} packetization-mode=1`);
  lines.push('a=recvonly');
  return `${lines.join('\r\n')}\r\n`;
}
