// Which container a track is written to without transcoding (as LiveKit's track egress: Opus -> OGG, VP8 -> WebM,
// H.264 -> MP4) and the ffmpeg muxer name for it.
export interface TrackContainer {
  extension: '.ogg' | '.webm' | '.mp4';
  /** ffmpeg's -f. */
  muxer: 'ogg' | 'webm' | 'mp4';
  /** The RTP encoding name for the SDP ffmpeg reads. */
  encodingName: 'opus' | 'VP8' | 'H264';
  clockRate: number;
  channels?: number;
}

export function containerForMime(mimeType: string): TrackContainer | undefined {
  switch (mimeType.toLowerCase()) {
    case 'audio/opus':
    case 'audio/red': // forwarded to the egress as plain Opus (it does not offer RED)
      return { extension: '.ogg', muxer: 'ogg', encodingName: 'opus', clockRate: 48000, channels: 2 };
    case 'video/vp8':
      return { extension: '.webm', muxer: 'webm', encodingName: 'VP8', clockRate: 90000 };
    case 'video/h264':
      return { extension: '.mp4', muxer: 'mp4', encodingName: 'H264', clockRate: 90000 };
    default:
      return undefined;
  }
}
