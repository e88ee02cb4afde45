// The codecs publishers may use on this server: `room.enabled_codecs` (LiveKit's key, with its default list) narrowed to
// what Atrium forwards. It decides the JoinResponse's enabled_publish_codecs (livekit-client picks its codec from
// it), which codecs the publisher answers accept, and the codec a track is announced with.
import { Codec } from '@livekit/protocol';
import { codecsMatch } from '@atrium/webrtc/sdp/codec-match.js';
import type { CodecCapability } from '@atrium/webrtc';

/** What the media side can forward (and forwards per subscriber layer), in the preference order used for defaults. */
export const FORWARDABLE_CODECS: readonly string[] = ['audio/opus', 'audio/red', 'video/VP8', 'video/H264', 'video/VP9', 'video/AV1'];

export interface EnabledCodecSpec {
  mime: string;
  /** Restricts the codec to this format (e.g. one H.264 profile); empty = any. */
  fmtpLine: string;
}

export class PublishCodecs {
  /** Enabled and forwardable mime types, in FORWARDABLE_CODECS order ('video/VP8' spelling). */
  readonly mimeTypes: readonly string[];
  /** Listed in the configuration but not forwarded by Atrium (LiveKit's defaults name PCMU, H265...). */
  readonly ignored: readonly string[];
  private readonly specs: readonly EnabledCodecSpec[];

  constructor(specs: readonly EnabledCodecSpec[]) {
    this.specs = specs;
    const listed = new Set(specs.map((s) => s.mime.toLowerCase()));
    this.mimeTypes = FORWARDABLE_CODECS.filter((m) => listed.has(m.toLowerCase()));
    const forwardable = new Set(FORWARDABLE_CODECS.map((m) => m.toLowerCase()));
    this.ignored = [...new Set(specs.map((s) => s.mime).filter((m) => !forwardable.has(m.toLowerCase()) && m.toLowerCase() !== 'video/rtx'))];
  }

  /** Every forwardable codec enabled (the default configuration). */
  static all(): PublishCodecs {
    return new PublishCodecs(FORWARDABLE_CODECS.map((mime) => ({ mime, fmtpLine: '' })));
  }

  isEnabled(mimeType: string | undefined): boolean {
    if (mimeType === undefined) return false;
    const m = mimeType.toLowerCase();
    return this.mimeTypes.some((x) => x.toLowerCase() === m);
  }

  /** Whether a concrete codec (with its format parameters) is allowed by an entry of the list. */
  allows(codec: CodecCapability): boolean {
    const m = codec.mimeType.toLowerCase();
    if (!this.isEnabled(m)) return false;
    return this.specs.some(
      (s) =>
        s.mime.toLowerCase() === m &&
        (s.fmtpLine === '' ||
          codecsMatch({ mimeType: codec.mimeType, clockRate: codec.clockRate, fmtp: s.fmtpLine }, { mimeType: codec.mimeType, clockRate: codec.clockRate, ...(codec.fmtp !== undefined ? { fmtp: codec.fmtp } : {}) })),
    );
  }

  /** The capabilities we accept from publishers: only enabled codecs. */
  filter(caps: readonly CodecCapability[]): CodecCapability[] {
    return caps.filter((c) => this.allows(c));
  }

  /** For JoinResponse.enabled_publish_codecs and Room.enabled_codecs. */
  toProto(): Codec[] {
    return this.mimeTypes.map((mime) => new Codec({ mime }));
  }
}
