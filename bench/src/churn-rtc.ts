// Parts (b) and (c) of bench/src/churn.bench.ts, with real media: a whole Atrium (WebRTC media factory) in a child
// process and participants on our own WebRTC client role (RtcChurnClient) sending fake Opus and VP8 RTP.
// (b) join/publish/subscribe/leave cycles next to two residents; (c) memory per participant publishing audio+video
// and subscribing to 10 tracks (rooms of 6).
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { RtcChurnClient } from './churn-rtc-client.js';
import { startChurnServer, startCountingReceiver, slope } from './churn-util.js';
import type { ChurnSample, ChurnServerProcess } from './churn-util.js';

const polling = { timeoutMs: 15_000, intervalMs: 10 } as const;
const MEDIA_INTERVAL_MS = 20;

/** Sends one audio and one video packet per live client every 20 ms (each client's signalling pings by itself). */
function mediaPump(clients: Set<RtcChurnClient>): () => void {
  const media = setInterval(() => {
    for (const c of clients) c.sendMedia();
  }, MEDIA_INTERVAL_MS);
  return () => clearInterval(media);
}

async function joinAndFlow(server: ChurnServerProcess, certificate: DtlsCertificate, clients: Set<RtcChurnClient>, identity: string, room: string): Promise<RtcChurnClient> {
  const c = await RtcChurnClient.join(server.url, identity, room, certificate);
  clients.add(c);
  await c.publish();
  await waitFor(() => c.isPublisherConnected, { ...polling, label: `${identity} publisher connected` });
  return c;
}

export interface MediaChurnResult {
  cycles: number;
  samples: Array<{ cycle: number } & ChurnSample>;
  heapSlopeBytesPerCycle: number;
  rssSlopeBytesPerCycle: number;
  failures: number;
  seconds: number;
}

export async function runMediaChurn(opts: { cycles: number; lanes: number; sampleEvery: number; log?: (line: string) => void; snapshots?: boolean; soloOnly?: boolean }): Promise<MediaChurnResult> {
  const receiver = await startCountingReceiver();
  const server = await startChurnServer('webrtc', receiver.url);
  const certificate = await generateCertificate();
  const clients = new Set<RtcChurnClient>();
  const stopPump = mediaPump(clients);
  const started = performance.now();
  try {
    const residents = [
      await joinAndFlow(server, certificate, clients, 'resident-0', 'media-0'),
      await joinAndFlow(server, certificate, clients, 'resident-1', 'media-0'),
    ];
    await waitFor(() => residents.every((r) => r.tracksReceiving(5) === 2), { ...polling, label: 'residents receive each other' });
    const quiet = async (): Promise<ChurnSample> => {
      let s = await server.sample();
      const deadline = Date.now() + 10_000;
      while ((s.resources.sessions !== residents.length || s.resources.rooms !== 1) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        s = await server.sample();
      }
      return s;
    };
    const samples: MediaChurnResult['samples'] = [{ cycle: 0, ...(await quiet()) }];
    let failures = 0;
    let next = 0;
    for (let done = 0; done < opts.cycles; ) {
      const batchEnd = Math.min(opts.cycles, done + opts.sampleEvery);
      await Promise.all(
        Array.from({ length: opts.lanes }, async () => {
          for (let i = next++; i < batchEnd; i = next++) {
            let c: RtcChurnClient | undefined;
            try {
              // Most cycles meet the residents (4 tracks to receive); every fourth is alone in a room of its own.
              const alone = opts.soloOnly === true || i % 4 === 3;
              c = await joinAndFlow(server, certificate, clients, `m${i}`, alone ? `solo-${i}` : 'media-0');
              if (!alone) await waitFor(() => c!.tracksReceiving(5) === 4, { ...polling, label: `m${i} receives the residents` });
            } catch (err) {
              failures++;
              if (failures <= 5) opts.log?.(`cycle ${i} failed: ${String(err)}`);
            } finally {
              if (c) {
                clients.delete(c);
                await c.leave({ viaRequest: i % 2 === 0 });
              }
            }
          }
        }),
      );
      next = batchEnd;
      done = batchEnd;
      const s = await quiet();
      samples.push({ cycle: done, ...s });
      if (opts.snapshots && (samples.length === 2 || done >= opts.cycles)) opts.log?.(`heap snapshot at ${done}: ${await server.snapshot()}`);
      opts.log?.(`${done} cycles: heap ${(s.heapUsedBytes / 1024).toFixed(0)} KiB, rss ${(s.rssBytes / 1048576).toFixed(1)} MiB, ${JSON.stringify(s.resources)} timers ${s.handles.Timeout ?? 0}`);
    }
    const fit = samples.slice(1);
    return {
      cycles: opts.cycles,
      samples,
      heapSlopeBytesPerCycle: slope(fit.map((s) => ({ x: s.cycle, y: s.heapUsedBytes }))),
      rssSlopeBytesPerCycle: slope(fit.map((s) => ({ x: s.cycle, y: s.rssBytes }))),
      failures,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    stopPump();
    for (const c of clients) await c.leave({ viaRequest: true });
    await server.exit();
    await receiver.close();
  }
}

export interface PerParticipantResult {
  participants: number;
  before: ChurnSample;
  during: ChurnSample;
  after: ChurnSample;
  /** Subscribed tracks receiving media, summed over participants. */
  tracksReceiving: number;
}

/** `participants` clients in rooms of `roomSize` (each publishes 2 tracks and subscribes to 2*(roomSize-1)). */
export async function runPerParticipant(opts: { participants: number; roomSize: number; flowMs: number; log?: (line: string) => void }): Promise<PerParticipantResult> {
  const server = await startChurnServer('webrtc', '');
  const certificate = await generateCertificate();
  const clients = new Set<RtcChurnClient>();
  const stopPump = mediaPump(clients);
  try {
    // Warm the server up once (code paths compiled, pools allocated) so the delta is the participants' state.
    const warm = await Promise.all([0, 1].map((k) => joinAndFlow(server, certificate, clients, `warm-${k}`, 'warm')));
    await waitFor(() => warm.every((c) => c.tracksReceiving(5) === 2), { ...polling, label: 'warm-up media' });
    for (const c of warm) {
      clients.delete(c);
      await c.leave({ viaRequest: true });
    }
    await waitFor(async () => (await server.sample()).resources.sessions === 0, { ...polling, label: 'warm-up gone' });
    const before = await server.sample();
    const all: RtcChurnClient[] = [];
    for (let i = 0; i < opts.participants; i++) {
      all.push(await joinAndFlow(server, certificate, clients, `p${i}`, `room-${Math.floor(i / opts.roomSize)}`));
    }
    const want = (c: RtcChurnClient, i: number): number => {
      const roomStart = Math.floor(i / opts.roomSize) * opts.roomSize;
      return 2 * (Math.min(opts.participants, roomStart + opts.roomSize) - roomStart - 1);
    };
    await waitFor(() => all.every((c, i) => c.tracksReceiving(20) === want(c, i)), { ...polling, timeoutMs: 60_000, label: 'every subscription receives' });
    await new Promise((r) => setTimeout(r, opts.flowMs)); // packet caches and stats fill up
    const during = await server.sample();
    const tracksReceiving = all.reduce((n, c) => n + c.tracksReceiving(20), 0);
    for (const c of all) {
      clients.delete(c);
      await c.leave({ viaRequest: true });
    }
    await waitFor(async () => (await server.sample()).resources.sessions === 0, { ...polling, label: 'everyone gone' });
    const after = await server.sample();
    return { participants: opts.participants, before, during, after, tracksReceiving };
  } finally {
    stopPump();
    for (const c of clients) await c.leave({ viaRequest: true });
    await server.exit();
  }
}
