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

/**
 * WHIP media is forwarded as the sender encodes it: transcoding options (enable_transcoding, encoding presets or
 * options) would need a transcoder this build lacks, so they are refused instead of silently not applied.
 */
function checkWhipOptions(req: { enableTranscoding?: boolean | undefined; audio?: IngressAudioOptions | undefined; video?: IngressVideoOptions | undefined }): void {
  const transcode =
    req.enableTranscoding === true ||
    req.audio?.encodingOptions.case !== undefined ||
    req.video?.encodingOptions.case !== undefined;
  if (transcode) {
    throw new IngressError(
      'unimplemented',
      'WHIP transcoding (enable_transcoding, audio/video encoding options) is not implemented in Atrium yet: WHIP media is forwarded as sent',
    );
  }
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

/** Empty strings in an UpdateIngressRequest mean "unchanged" (as LiveKit). */
export function checkUpdateRequest(req: UpdateIngressRequest, inputType: IngressInput): void {
  if (req.ingressId === '') throw new IngressError('invalid_argument', 'ingress id is required');
  checkSizes({ ...req, participantMetadata: req.participantMetadata });
  if (inputType === IngressInput.WHIP_INPUT) checkWhipOptions(req);
  if (inputType === IngressInput.RTMP_INPUT) checkRtmpOptions(req);
}
