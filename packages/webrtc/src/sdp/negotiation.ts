// SDP offer/answer negotiation API: capabilities, createOffer, createAnswer, negotiated results.
// JSEP: https://www.rfc-editor.org/rfc/rfc8829
export {
  audioRedCapability, defaultCapabilities, headerExtensionIds, offerCodecs, HeaderExtensionUri, setRedFormat,
  type CodecCapability, type LocalCapabilities, type LocalTransportParams, type OutgoingTrackDesc, type OfferTransceiver,
} from './capabilities.js';
export { codecsMatch, intersectFeedback, parseFmtp, redBlockPayloadTypes, withFmtpParams, type CodecDescriptor } from './codec-match.js';
export { createAnswer, dataChannelDefaults, newSessionId, reverseDirection, type CreateAnswerOptions } from './create-answer.js';
export { createOffer, type CreateOfferOptions } from './create-offer.js';
export { negotiatedFromAnswer, negotiatedFromOffer, type NegotiatedMedia } from './negotiated-media.js';
