// What an offer/answer exchange settled per mid (RFC 3264 6, RFC 8829 5.10): payload types, RTX types,
// header extension ids and direction, seen from our side. Feeds the RTP layer (demux, rewriting).
import { reverseDirection } from './create-answer.js';
import type { CodecParams, Direction, HeaderExtension, MediaKind, MediaSection, SessionDescriptionModel } from './sdp-model.js';

export interface NegotiatedMedia {
  mid: string;
  kind: MediaKind;
  /** from our side: 'sendonly' means we send */
  direction: Direction;
  codecs: CodecParams[];
  headerExtensions: HeaderExtension[];
  rejected: boolean;
}

function copyCodecs(codecs: readonly CodecParams[]): CodecParams[] {
  return codecs.map((c) => ({ ...c, rtcpFeedback: c.rtcpFeedback.map((f) => ({ ...f })) }));
}

function settle(offered: MediaSection, answered: MediaSection | undefined, weOffered: boolean): NegotiatedMedia {
  const isRejected = !answered || answered.port === 0 || offered.port === 0;
  if (isRejected || !answered) {
    return { mid: offered.mid, kind: offered.kind, direction: 'inactive', codecs: [], headerExtensions: [], rejected: true };
  }
  const offeredPts = new Set(offered.codecs.map((c) => c.payloadType));
  const offeredUris = new Set(offered.headerExtensions.map((e) => e.uri));
  // Payload types and ids are the offerer's (JSEP 5.3.1); keep only what both sides listed.
  const codecs = copyCodecs(answered.codecs.filter((c) => offeredPts.has(c.payloadType)));
  for (const c of codecs) {
    const o = offered.codecs.find((x) => x.payloadType === c.payloadType);
    if (c.rtxPayloadType !== undefined && o?.rtxPayloadType !== c.rtxPayloadType) delete c.rtxPayloadType;
  }
  return {
    mid: offered.mid,
    kind: offered.kind,
    direction: weOffered ? reverseDirection(answered.direction) : answered.direction,
    codecs,
    headerExtensions: answered.headerExtensions.filter((e) => offeredUris.has(e.uri)).map((e) => ({ ...e })),
    rejected: false,
  };
}

/** We offered, the remote answered. */
export function negotiatedFromAnswer(offer: SessionDescriptionModel, answer: SessionDescriptionModel): NegotiatedMedia[] {
  const answers = new Map(answer.media.map((m) => [m.mid, m]));
  return offer.media.map((m) => settle(m, answers.get(m.mid), true));
}

/** The remote offered, we answered with `ourAnswer`. */
export function negotiatedFromOffer(offer: SessionDescriptionModel, ourAnswer: SessionDescriptionModel): NegotiatedMedia[] {
  const answers = new Map(ourAnswer.media.map((m) => [m.mid, m]));
  return offer.media.map((m) => settle(m, answers.get(m.mid), false));
}
