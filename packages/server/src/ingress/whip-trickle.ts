// WHIP trickle ICE (RFC 9725 section 4.3.1, RFC 8840's application/trickle-ice-sdpfrag): a WHIP client sends its ICE
// candidates after the offer in PATCH requests on the session's resource. Atrium's ICE is lite (RFC 8445 section
// 2.5): the client's checks reach our candidates (in the answer) and teach us its addresses, so trickled candidates
// need no action; a PATCH is checked (the fragment is readable, its ICE credentials are the offer's, it names no more
// than a sender has candidates) and answered 204. An ICE restart (new credentials, or If-Match: *) is not supported:
// 422, as the RFC asks of a session that takes trickle but not restarts.

/** At most this many a=candidate lines in one PATCH (a client has a few per interface and protocol). */
export const MAX_TRICKLE_CANDIDATES = 64;

export interface SdpFragment {
  iceUfrag: string | undefined;
  icePwd: string | undefined;
  /** a=candidate values, without `candidate:`. */
  candidates: string[];
  endOfCandidates: boolean;
}

export class TrickleError extends Error {
  constructor(readonly status: 400 | 422, message: string) {
    super(message);
  }
}

/** Reads an SDP fragment (RFC 8840 section 9): a=ice-ufrag/ice-pwd, m= and a=mid lines, a=candidate lines. */
export function readSdpFragment(text: string): SdpFragment {
  const out: SdpFragment = { iceUfrag: undefined, icePwd: undefined, candidates: [], endOfCandidates: false };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (!/^[a-z]=/.test(line)) throw new TrickleError(400, `not an SDP fragment line: ${JSON.stringify(line.slice(0, 80))}`);
    if (line.startsWith('a=ice-ufrag:')) out.iceUfrag = line.slice('a=ice-ufrag:'.length);
    else if (line.startsWith('a=ice-pwd:')) out.icePwd = line.slice('a=ice-pwd:'.length);
    else if (line.startsWith('a=candidate:')) {
      const value = line.slice('a=candidate:'.length);
      // foundation component transport priority address port typ type ...
      const f = value.split(/\s+/);
      if (f.length < 8 || f[6] !== 'typ' || !/^\d+$/.test(f[1]!) || !/^\d+$/.test(f[5]!)) throw new TrickleError(400, `not an ICE candidate: ${JSON.stringify(value.slice(0, 120))}`);
      out.candidates.push(value);
      if (out.candidates.length > MAX_TRICKLE_CANDIDATES) throw new TrickleError(400, `more than ${MAX_TRICKLE_CANDIDATES} candidates in one PATCH`);
    } else if (line === 'a=end-of-candidates') out.endOfCandidates = true;
  }
  return out;
}

/**
 * Checks a trickle PATCH against the session: `ifMatch` (the request's If-Match) and the offer's ICE credentials.
 * Throws TrickleError (422 for an ICE restart); returns the fragment otherwise.
 */
export function checkTrickle(body: string, offer: { iceUfrag: string | undefined; icePwd: string | undefined }, ifMatch: string | undefined): SdpFragment {
  if (ifMatch?.trim() === '*') throw new TrickleError(422, 'ICE restarts are not supported on this WHIP session (trickle ICE is)');
  const frag = readSdpFragment(body);
  const restart = (frag.iceUfrag !== undefined && frag.iceUfrag !== offer.iceUfrag) || (frag.icePwd !== undefined && frag.icePwd !== offer.icePwd);
  if (restart) throw new TrickleError(422, 'new ICE credentials (an ICE restart) are not supported on this WHIP session; trickle with the offer\'s');
  return frag;
}
