// Outgoing trickle candidates as strict RTCIceCandidateInit JSON: the Rust SDK (rtc-node) requires a string
// `sdpMid` and an integer `sdpMLineIndex` (docs/livekit-protocol.md 2.5).

/** Returns normalised JSON, or undefined for candidates not worth sending (empty / unparsable). */
export function normalizeCandidateInit(json: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const c = parsed as Record<string, unknown>;
  if (typeof c.candidate !== 'string' || c.candidate === '') return undefined;
  const index = typeof c.sdpMLineIndex === 'number' && Number.isInteger(c.sdpMLineIndex) && c.sdpMLineIndex >= 0
    ? c.sdpMLineIndex
    : 0;
  const mid = typeof c.sdpMid === 'string' ? c.sdpMid : typeof c.sdpMid === 'number' ? String(c.sdpMid) : String(index);
  const out: Record<string, unknown> = { candidate: c.candidate, sdpMid: mid, sdpMLineIndex: index };
  if (typeof c.usernameFragment === 'string') out.usernameFragment = c.usernameFragment;
  return JSON.stringify(out);
}
