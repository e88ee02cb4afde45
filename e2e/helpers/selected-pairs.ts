// What a livekit-client page's PeerConnections really use: each PC's selected ICE candidate pair as Chromium's getStats
// reports it (the transport's selectedCandidatePairId, then both candidates). Shared by the scenarios that check the
// path a client took: ICE over TCP, TURN relays, a client whose address changed.
import type { BrowserParticipant } from './browser-participant.js';

/** One PeerConnection's selected pair (fields Chromium leaves out are undefined; no pair yet: only `pc`). */
export interface SelectedPair {
  pc: 'publisher' | 'subscriber';
  localType?: string;
  localProtocol?: string;
  localTcpType?: string;
  /** Relay candidates: the protocol to the TURN server and its URL. */
  relayProtocol?: string;
  url?: string;
  localAddress?: string;
  localPort?: number;
  remoteType?: string;
  remoteProtocol?: string;
  remoteTcpType?: string;
  remoteAddress?: string;
  remotePort?: number;
  bytesSent?: number;
  bytesReceived?: number;
}

// Runs in the page (window.atrium.run, where `room` is the page's livekit-client Room): one entry per PC that exists
// (signalling v1 has only the publisher PC).
const SELECTED_PAIRS_SOURCE = `
  const out = [];
  for (const which of ['publisher', 'subscriber']) {
    const t = room.engine.pcManager && room.engine.pcManager[which];
    if (!t) continue;
    const report = await t.getStats();
    let pairId;
    report.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
    const pair = pairId ? report.get(pairId) : undefined;
    if (!pair) { out.push({ pc: which }); continue; }
    const l = report.get(pair.localCandidateId) || {};
    const r = report.get(pair.remoteCandidateId) || {};
    out.push({
      pc: which,
      localType: l.candidateType, localProtocol: l.protocol, localTcpType: l.tcpType, relayProtocol: l.relayProtocol, url: l.url,
      localAddress: l.address, localPort: l.port,
      remoteType: r.candidateType, remoteProtocol: r.protocol, remoteTcpType: r.tcpType, remoteAddress: r.address, remotePort: r.port,
      bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
    });
  }
  return out;
`;

/** The PC a page receives media on: its subscriber PC, or in single PeerConnection mode (signalling v1) the one PC. */
export function receivingPc(pairs: readonly SelectedPair[]): SelectedPair | undefined {
  return pairs.find((x) => x.pc === 'subscriber') ?? pairs.find((x) => x.pc === 'publisher');
}

/** The PC a page publishes on (livekit-client opens it when something is published, or always in signalling v1). */
export function sendingPc(pairs: readonly SelectedPair[]): SelectedPair | undefined {
  return pairs.find((x) => x.pc === 'publisher');
}

export function selectedPairs(p: BrowserParticipant): Promise<SelectedPair[]> {
  return p.call<SelectedPair[]>('run', SELECTED_PAIRS_SOURCE);
}
