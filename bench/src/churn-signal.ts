// Part (a) of bench/src/churn.bench.ts: signalling-level join/leave churn over real WebSockets against a whole
// Atrium in a child process (media double), with webhooks to a local receiver and metrics scraped now and then.
// Residents stay in a few shared rooms all along and publish; churners come and go in varied ways.
import { AddTrackRequest, LeaveRequest, TrackType, TrackSource, UpdateParticipantMetadata, UpdateSubscription, SubscriptionPermission, DisconnectReason } from '@livekit/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { TestSignalClient } from '@atrium/server/signal/test-signal-client.js';
import type { Msg } from '@atrium/server/signal/test-signal-client.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { startChurnServer, startCountingReceiver, slope } from './churn-util.js';
import type { ChurnSample } from './churn-util.js';

export interface SignalChurnResult {
  cycles: number;
  samples: Array<{ cycle: number } & ChurnSample>;
  /** Bytes of heap per cycle (least squares over the samples after the first). */
  slopeBytesPerCycle: number;
  failures: number;
  webhooks: number;
  seconds: number;
}

const SHARED_ROOMS = 4;
const grant = (room: string): VideoGrant => ({ roomJoin: true, room, canUpdateOwnMetadata: true });
const polling = { timeoutMs: 10_000, intervalMs: 5 } as const;

async function publish(c: TestSignalClient, cids: string[]): Promise<string[]> {
  const sids: string[] = [];
  for (const cid of cids) {
    const audio = cid.startsWith('mic');
    c.send({ case: 'addTrack', value: new AddTrackRequest({ cid, name: cid, type: audio ? TrackType.AUDIO : TrackType.VIDEO, source: audio ? TrackSource.MICROPHONE : TrackSource.CAMERA, width: 640, height: 480 }) });
    const m = await c.waitFor((x) => x.case === 'trackPublished' && x.value.cid === cid, { timeoutMs: polling.timeoutMs });
    sids.push((m.value as { track: { sid: string } }).track.sid);
  }
  c.send({ case: 'offer', value: { type: 'offer', sdp: `v=0 cids:${cids.join(',')}`, id: 1 } as never });
  await c.waitFor((x) => x.case === 'answer', { timeoutMs: polling.timeoutMs });
  return sids;
}

async function setMetadata(c: TestSignalClient, identity: string, metadata: string): Promise<void> {
  c.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ metadata, attributes: { round: metadata }, requestId: 1 }) });
  const isMine = (m: Msg): boolean => m.case === 'update' && m.value.participants.some((p) => p.identity === identity && p.metadata === metadata);
  await c.waitFor(isMine, { timeoutMs: polling.timeoutMs });
}

async function leave(c: TestSignalClient, viaRequest: boolean): Promise<void> {
  if (viaRequest) c.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
  c.close();
  await c.waitClosed(polling.timeoutMs);
}

/** One join/leave cycle; the kind depends on `i`. */
async function cycle(url: string, i: number, lane: number, residentTracks: string[][]): Promise<void> {
  const kind = i % 5;
  const shared = `shared-${i % SHARED_ROOMS}`;
  if (kind === 0) {
    // Shared room: publish microphone and camera (residents auto-subscribe), metadata, LeaveRequest.
    const id = `c${i}`;
    const c = await TestSignalClient.join(url, id, '', grant(shared));
    await publish(c, ['mic', 'cam']);
    await setMetadata(c, id, `m${i}`);
    await leave(c, true);
  } else if (kind === 1) {
    // A room of its own (created and finished), publish a camera, drop the socket without a LeaveRequest.
    const c = await TestSignalClient.join(url, `c${i}`, '', grant(`own-${i}`));
    await publish(c, ['cam']);
    await leave(c, false);
  } else if (kind === 2) {
    // Shared room without auto-subscribe: subscribe to and unsubscribe from residents' tracks, set a permission.
    const c = await TestSignalClient.join(url, `c${i}`, '&auto_subscribe=0', grant(shared));
    const sids = residentTracks[i % SHARED_ROOMS] ?? [];
    c.send({ case: 'subscription', value: new UpdateSubscription({ trackSids: sids, subscribe: true }) });
    c.send({ case: 'subscription', value: new UpdateSubscription({ trackSids: ['TR_unknown'], subscribe: true }) });
    await c.waitFor((m) => m.case === 'subscriptionResponse', { timeoutMs: polling.timeoutMs });
    c.send({ case: 'subscription', value: new UpdateSubscription({ trackSids: sids, subscribe: false }) });
    c.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: false }) });
    await publish(c, ['mic']);
    await leave(c, true);
  } else if (kind === 3) {
    // The same identity every time in this lane (a rejoin after leaving), in a shared room.
    const id = `lane-${lane}`;
    const c = await TestSignalClient.join(url, id, '', grant(shared));
    await setMetadata(c, id, `r${i}`);
    await leave(c, i % 2 === 0);
  } else {
    // Two churners meet in a new room, both publish and subscribe to each other, both leave.
    const room = `pair-${i}`;
    const a = await TestSignalClient.join(url, `a${i}`, '', grant(room));
    const b = await TestSignalClient.join(url, `b${i}`, '', grant(room));
    await Promise.all([publish(a, ['mic', 'cam']), publish(b, ['cam'])]);
    await waitFor(() => b.messages.some((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === `a${i}` && p.tracks.length === 2)), { ...polling, label: 'a tracks at b' });
    await Promise.all([leave(a, true), leave(b, false)]);
  }
}

export async function runSignalChurn(opts: { cycles: number; lanes: number; sampleEvery: number; log?: (line: string) => void; snapshots?: boolean }): Promise<SignalChurnResult> {
  const receiver = await startCountingReceiver();
  const server = await startChurnServer('fake', receiver.url);
  const residents: TestSignalClient[] = [];
  const pinger = setInterval(() => {
    for (const r of residents) {
      r.send({ case: 'ping', value: BigInt(Date.now()) });
      r.messages.length = 0; // residents' recorded updates are not needed
    }
  }, 2000);
  const started = performance.now();
  try {
    const residentTracks: string[][] = [];
    for (let r = 0; r < SHARED_ROOMS; r++) {
      const tracks: string[] = [];
      for (let k = 0; k < 2; k++) {
        const c = await TestSignalClient.join(server.url, `resident-${r}-${k}`, '', grant(`shared-${r}`));
        residents.push(c);
        tracks.push(...(await publish(c, ['mic', 'cam'])));
      }
      residentTracks.push(tracks);
    }
    const quiet = async (): Promise<ChurnSample> => {
      // Everyone but the residents has gone and each shared room is back to its residents.
      let s = await server.sample();
      const deadline = Date.now() + 10_000;
      while ((s.resources.sessions !== residents.length || s.resources.rooms !== SHARED_ROOMS) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        s = await server.sample();
      }
      return s;
    };
    const samples: SignalChurnResult['samples'] = [{ cycle: 0, ...(await quiet()) }];
    let failures = 0;
    let next = 0;
    for (let done = 0; done < opts.cycles; ) {
      const batchEnd = Math.min(opts.cycles, done + opts.sampleEvery);
      await Promise.all(
        Array.from({ length: opts.lanes }, async (_, lane) => {
          for (let i = next++; i < batchEnd; i = next++) {
            try {
              await cycle(server.url, i, lane, residentTracks);
            } catch (err) {
              failures++;
              if (failures <= 5) opts.log?.(`cycle ${i} failed: ${String(err)}`);
            }
            if (i % 500 === 0) await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`).then((r) => r.text());
          }
        }),
      );
      next = batchEnd;
      done = batchEnd;
      const s = await quiet();
      samples.push({ cycle: done, ...s });
      if (opts.snapshots && samples.length === 2) opts.log?.(`heap snapshot at ${done}: ${await server.snapshot()}`);
      opts.log?.(`${done} cycles: heap ${(s.heapUsedBytes / 1024).toFixed(0)} KiB, rss ${(s.rssBytes / 1048576).toFixed(1)} MiB, ${JSON.stringify(s.resources)} ${JSON.stringify(s.handles)}`);
    }
    if (opts.snapshots) opts.log?.(`heap snapshot at end: ${await server.snapshot()}`);
    const seconds = (performance.now() - started) / 1000;
    const fit = samples.slice(1).map((s) => ({ x: s.cycle, y: s.heapUsedBytes }));
    return { cycles: opts.cycles, samples, slopeBytesPerCycle: slope(fit), failures, webhooks: receiver.count, seconds };
  } finally {
    clearInterval(pinger);
    for (const r of residents) r.close();
    await server.exit();
    await receiver.close();
  }
}
