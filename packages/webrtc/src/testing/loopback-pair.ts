// Two of our PeerConnections over real loopback UDP for tests: our server role (ICE-lite, DTLS server) and our client
// role, each on its own socket; everything made is closed after the test file (node:test `after`).
import { after } from 'node:test';
import { UdpMux } from '../udp-mux.js';
import { generateCertificate } from '../dtls/certificate.js';
import { defaultCapabilities } from '../sdp/index.js';
import { PeerConnection, type PeerConnectionOptions } from '../pc/peer-connection.js';

/** Real-time waits between two peers over loopback: 5 s at most, polled every 10 ms. */
export const loopbackPolling = { timeoutMs: 5000, intervalMs: 10 } as const;
export const opusCapability = defaultCapabilities.audio.find((c) => c.mimeType.toLowerCase() === 'audio/opus')!;
export const vp8Capability = defaultCapabilities.video.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;

export type PairOptions = Partial<Pick<PeerConnectionOptions, 'capabilities' | 'sendCapabilities' | 'twccFeedback' | 'rembFeedback' | 'decryptRtp'>>;

/** Returns a `pair()` that makes a connected-to-be server/client pair; all are closed after the file's tests. */
export function loopbackPairs(): (opts?: { server?: PairOptions; client?: PairOptions }) => Promise<{ server: PeerConnection; client: PeerConnection }> {
  const muxes: UdpMux[] = [];
  const pcs: PeerConnection[] = [];
  after(async () => {
    for (const pc of pcs) pc.close();
    for (const m of muxes) await m.close();
  });
  return async (opts = {}) => {
    const serverMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
    const clientMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
    muxes.push(serverMux, clientMux);
    const server = new PeerConnection({ role: 'server', mux: serverMux, certificate: await generateCertificate(), advertisedAddress: '127.0.0.1', ...opts.server });
    const client = new PeerConnection({ role: 'client', mux: clientMux, certificate: await generateCertificate(), advertisedAddress: '127.0.0.1', ...opts.client });
    pcs.push(server, client);
    return { server, client };
  };
}
