// What a track becomes without transcoding: its RTP format for the SDP ffmpeg reads, and the container it is written
// to. A single track as LiveKit's track egress: Opus -> OGG, VP8 -> WebM, H.264 -> MP4. Audio + video (track
// composite): VP8 (+ Opus) -> WebM, H.264 (+ Opus) -> MP4.
import { EncodedFileType } from '@livekit/protocol';

export interface RtpFormat {
  /** The RTP encoding name for the SDP ffmpeg reads. */
  encodingName: 'opus' | 'VP8' | 'H264';
  clockRate: number;
  channels?: number;
}

export interface OutputContainer {
  extension: '.ogg' | '.webm' | '.mp4';
  /** ffmpeg's -f. */
  muxer: 'ogg' | 'webm' | 'mp4';
}

export type TrackContainer = RtpFormat & OutputContainer;

export function rtpFormatForMime(mimeType: string): RtpFormat | undefined {
  switch (mimeType.toLowerCase()) {
    case 'audio/opus':
    case 'audio/red': // forwarded to the egress as plain Opus (it does not offer RED)
      return { encodingName: 'opus', clockRate: 48000, channels: 2 };
    case 'video/vp8':
      return { encodingName: 'VP8', clockRate: 90000 };
    case 'video/h264':
      return { encodingName: 'H264', clockRate: 90000 };
    default:
      return undefined;
  }
}

const OGG: OutputContainer = { extension: '.ogg', muxer: 'ogg' };
const WEBM: OutputContainer = { extension: '.webm', muxer: 'webm' };
const MP4: OutputContainer = { extension: '.mp4', muxer: 'mp4' };

export function containerForMime(mimeType: string): TrackContainer | undefined {
  const format = rtpFormatForMime(mimeType);
  if (!format) return undefined;
  const container = format.encodingName === 'opus' ? OGG : format.encodingName === 'VP8' ? WEBM : MP4;
  return { ...format, ...container };
}

/**
 * The container of a composite of an optional video and an optional audio format, honouring the requested file type;
 * a string says why there is none (the combination would need transcoding).
 */
export function compositeContainer(video: RtpFormat | undefined, audio: RtpFormat | undefined, fileType: EncodedFileType): OutputContainer | string {
  if (!video) {
    if (fileType === EncodedFileType.DEFAULT_FILETYPE || fileType === EncodedFileType.OGG) return OGG;
    return `an audio-only recording is written as OGG without transcoding (${EncodedFileType[fileType]} asked)`;
  }
  if (fileType === EncodedFileType.OGG || fileType === EncodedFileType.MP3) return `${EncodedFileType[fileType]} cannot hold video`;
  if (video.encodingName === 'H264') return MP4;
  if (fileType === EncodedFileType.MP4) return 'VP8 video goes into WebM without transcoding; MP4 would need transcoding, which is not supported yet';
  return audio === undefined || audio.encodingName === 'opus' ? WEBM : 'no container for this combination';
}
