// Checks on CreateIngress / UpdateIngress requests (livekit_ingress.proto) before any record changes: what is
// required, LiveKit's size limits, and input types or options Atrium has not built, refused by name (`unimplemented`)
// rather than accepted and ignored.
import { IngressInput } from '@livekit/protocol';
import type { CreateIngressRequest, IngressAudioOptions, IngressVideoOptions, UpdateIngressRequest } from '@livekit/protocol';
import { METADATA_LIMITS } from '../rtc/participant-metadata.js';
import { MAX_NAME_LENGTH } from '../auth/join-auth.js';
import { IngressError } from './ingress-error.js';
import { audioPlan, videoPlan } from './encoding-presets.js';

const bytes = (s: string): number => Buffer.byteLength(s);

/** Input types served by this build. */
export const BUILT_INPUTS: ReadonlySet<IngressInput> = new Set([IngressInput.RTMP_INPUT, IngressInput.WHIP_INPUT, IngressInput.URL_INPUT]);

const NOT_BUILT: Readonly<Record<number, string>> = {};

export function checkInputType(inputType: IngressInput): void {
  if (BUILT_INPUTS.has(inputType)) return;
  const known = NOT_BUILT[inputType];
  if (known !== undefined) throw new IngressError('unimplemented', known);
  throw new IngressError('invalid_argument', `unknown ingress input type ${String(inputType)}`);
}

function checkSizes(req: { name: string; roomName: string; participantIdentity: string; participantName: string; participantMetadata?: string | undefined }): void {
  if (bytes(req.roomName) > MAX_NAME_LENGTH) throw new IngressError('invalid_argument', `room name length exceeds limits: max length ${MAX_NAME_LENGTH}`);
  if (bytes(req.participantIdentity) > MAX_NAME_LENGTH) throw new IngressError('invalid_argument', `participant identity length exceeds limits: max length ${MAX_NAME_LENGTH}`);
  if (bytes(req.participantName) > METADATA_LIMITS.maxNameBytes) throw new IngressError('invalid_argument', 'participant name length exceeds limits');
  if (bytes(req.name) > METADATA_LIMITS.maxNameBytes) throw new IngressError('invalid_argument', 'ingress name length exceeds limits');
  if (req.participantMetadata !== undefined && bytes(req.participantMetadata) > METADATA_LIMITS.maxMetadataBytes) {
    throw new IngressError('invalid_argument', 'participant metadata size exceeds limits');
  }
}

type WhipTranscodingFields = {
  bypassTranscoding?: boolean;
  enableTranscoding?: boolean | undefined;
  audio?: IngressAudioOptions | undefined;
  video?: IngressVideoOptions | undefined;
};

/**
 * Whether a WHIP ingress transcodes (whip-transcoder.ts), as LiveKit decides: enable_transcoding when set; else
 * encoding presets or options ask for it, unless the deprecated bypass_transcoding says not to. Default: forwarded as
 * the sender encodes it.
 */
export function whipTranscodes(info: WhipTranscodingFields): boolean {
  if (info.enableTranscoding !== undefined) return info.enableTranscoding;
  if (info.bypassTranscoding === true) return false;
  return info.audio?.encodingOptions.case !== undefined || info.video?.encodingOptions.case !== undefined;
}

/**
 * WHIP: transcoding settings must agree (options are only applied by a transcoder) and, when transcoding, the
 * presets or options must be encodable (as RTMP's).
 */
function checkWhipOptions(req: WhipTranscodingFields): void {
  if (req.enableTranscoding === true && req.bypassTranscoding === true) {
    throw new IngressError('invalid_argument', 'enable_transcoding and bypass_transcoding contradict each other');
  }
  const hasOptions = req.audio?.encodingOptions.case !== undefined || req.video?.encodingOptions.case !== undefined;
  if (!whipTranscodes(req)) {
    if (hasOptions) throw new IngressError('invalid_argument', 'audio/video encoding options need transcoding: set enable_transcoding for this WHIP ingress');
    return;
  }
  videoPlan(req.video);
  audioPlan(req.audio);
}

export function checkCreateRequest(req: CreateIngressRequest): void {
  checkInputType(req.inputType);
  if (req.roomName === '') throw new IngressError('invalid_argument', 'room name is required');
  if (req.participantIdentity === '') throw new IngressError('invalid_argument', 'participant identity is required');
  if (req.url !== '' && req.inputType !== IngressInput.URL_INPUT) {
    throw new IngressError('invalid_argument', 'url is only valid for URL_INPUT');
  }
  checkSizes(req);
  if (req.inputType === IngressInput.WHIP_INPUT) checkWhipOptions(req);
  if (req.inputType === IngressInput.URL_INPUT) checkUrlInput(req);
  if (req.inputType === IngressInput.RTMP_INPUT) checkRtmpOptions(req);
}

/** RTMP is always transcoded (H.264/AAC in, VP8/Opus out); its presets and options must be encodable. */
function checkRtmpOptions(req: { bypassTranscoding?: boolean; enableTranscoding?: boolean | undefined; audio?: IngressAudioOptions | undefined; video?: IngressVideoOptions | undefined }): void {
  if (req.bypassTranscoding === true || req.enableTranscoding === false) {
    throw new IngressError('invalid_argument', 'RTMP ingress is always transcoded: bypass_transcoding / enable_transcoding false do not apply');
  }
  videoPlan(req.video);
  audioPlan(req.audio);
}

/** URL ingress: an http(s) URL (ffmpeg is kept to network protocols), encoded with Atrium's fixed VP8 + Opus settings. */
function checkUrlInput(req: CreateIngressRequest): void {
  if (req.url === '') throw new IngressError('invalid_argument', 'url is required for URL_INPUT');
  let scheme = '';
  try {
    scheme = new URL(req.url).protocol;
  } catch {
    throw new IngressError('invalid_argument', `url is not a valid URL: ${req.url.slice(0, 200)}`);
  }
  if (scheme !== 'http:' && scheme !== 'https:') throw new IngressError('invalid_argument', `url must be http or https (got ${scheme})`);
  if (req.audio?.encodingOptions.case !== undefined || req.video?.encodingOptions.case !== undefined) {
    throw new IngressError('unimplemented', 'encoding options for URL ingress are not implemented in Atrium yet: it encodes VP8 (1.5 Mbps, the input size) and Opus 96 kbps');
  }
}

/**
 * Empty strings in an UpdateIngressRequest mean "unchanged" (as LiveKit). A WHIP ingress's transcoding settings are
 * checked as they will be after the update (`current`: the record before it), for the next stream.
 */
export function checkUpdateRequest(req: UpdateIngressRequest, inputType: IngressInput, current: WhipTranscodingFields = {}): void {
  if (req.ingressId === '') throw new IngressError('invalid_argument', 'ingress id is required');
  checkSizes({ ...req, participantMetadata: req.participantMetadata });
  if (inputType === IngressInput.WHIP_INPUT) {
    checkWhipOptions({
      bypassTranscoding: req.bypassTranscoding ?? current.bypassTranscoding ?? false,
      enableTranscoding: req.enableTranscoding ?? current.enableTranscoding,
      audio: req.audio ?? current.audio,
      video: req.video ?? current.video,
    });
  }
  if (inputType === IngressInput.RTMP_INPUT) checkRtmpOptions(req);
}
