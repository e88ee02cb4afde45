// Prometheus metrics end to end: Atrium with a /metrics listener, two unmodified @livekit/rtc-node participants
// each publishing a 440/660 Hz tone; the scrape shows 1 room, 2 participants, 2 published and 2 subscribed audio
// tracks, packet and byte counters rising in both directions, forwarding-latency samples, and (once X adds a camera)
// a send-side estimate for Y, the subscriber that receives video.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Room } from '@livekit/rtc-node';
import { connectRtcNode, publishSineTone, publishTestPattern, waitForRemoteTrack, teardownRtcNode, type RunningPublisher } from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];

before(async () => {
  server = await withTimeout(startAtrium({ overrides: { prometheusPort: 0 } }), 15_000, 'Atrium to start');
});

after(() =>
  teardownRtcNode({ publishers, rooms, also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }] }),
);

/** One scrape as `name{labels}` -> value, the node_id/node_type labels left out. */
async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = (m[2] ?? '').split(',').filter((l) => l !== '' && !l.startsWith('node_')).join(',');
    out.set(labels === '' ? m[1]! : `${m[1]}{${labels}}`, Number(m[3]));
  }
  return out;
}

const IN_AUDIO = 'livekit_packet_total{direction="incoming",transmission="initial",kind="audio"}';
const OUT_AUDIO = 'livekit_packet_total{direction="outgoing",transmission="initial",kind="audio"}';
const IN_BYTES = 'livekit_packet_bytes{direction="incoming",transmission="initial",kind="audio"}';
const OUT_BYTES = 'livekit_packet_bytes{direction="outgoing",transmission="initial",kind="audio"}';

test('rooms, participants, tracks, packet counters and forwarding latency from a live call', { timeout: 90_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const port = srv.server.metricsPort;
  assert.ok(port !== undefined && port > 0, 'metrics listener on an ephemeral port');
  const run = createStepRunner({ scenario: 'metrics.test.ts', logs: () => logLines });
  const roomName = `metrics-e2e-${Date.now()}`;

  await run.step('before anyone joins: no rooms, health OK', async () => {
    const m = await scrape(port);
    assert.equal(m.get('livekit_room_total'), 0);
    assert.equal(m.get('livekit_participant_total'), 0);
    const health = await fetch(`${srv.httpUrl}/`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'OK');
  });

  const [x, y] = await run.step('X and Y connect (rtc-node)', async () => {
    const connected: Room[] = [];
    for (const identity of ['x', 'y']) {
      const room = await connectRtcNode(srv.url, await srv.token({ identity, room: roomName }), { label: identity.toUpperCase(), eventLog: logLines });
      rooms.push(room);
      connected.push(room);
    }
    return connected as [Room, Room];
  });

  await run.step('X and Y each publish a tone', async () => {
    publishers.push(await publishSineTone(x, { frequencyHz: 440, maxDurationMs: 30_000 }));
    publishers.push(await publishSineTone(y, { frequencyHz: 660, maxDurationMs: 30_000 }));
  });

  await run.step('each subscribes to the other', async () => {
    await waitForRemoteTrack(y, { kind: 'audio', identity: 'x', label: "[Y] X's audio subscribed", timeoutMs: 15_000 });
    await waitForRemoteTrack(x, { kind: 'audio', identity: 'y', label: "[X] Y's audio subscribed", timeoutMs: 15_000 });
  });

  const first = await run.step('a scrape shows 1 room, 2 participants, 2 published and 2 subscribed audio tracks, packets flowing', async () => {
    let m = new Map<string, number>();
    await waitFor(
      async () => {
        m = await scrape(port);
        return (m.get(OUT_AUDIO) ?? 0) > 0 && (m.get('livekit_forward_latency_ns_count') ?? 0) > 0;
      },
      { timeoutMs: 15_000, intervalMs: 200, label: 'forwarded audio packets and a latency sample in the scrape' },
    );
    assert.equal(m.get('livekit_room_total'), 1);
    assert.equal(m.get('livekit_participant_total'), 2);
    assert.equal(m.get('livekit_track_published_total{kind="audio"}'), 2);
    assert.equal(m.get('livekit_track_published_total{kind="video"}'), 0);
    assert.equal(m.get('livekit_track_subscribed_total{kind="audio"}'), 2);
    assert.ok((m.get(IN_AUDIO) ?? 0) > 0);
    assert.ok((m.get(IN_BYTES) ?? 0) > (m.get(IN_AUDIO) ?? 0) * 12, 'bytes include at least the RTP header per packet');
    return m;
  });

  await run.step('packet and byte counters rise in both directions; latency samples accumulate', async () => {
    let m = first;
    await waitFor(
      async () => {
        m = await scrape(port);
        return (m.get(IN_AUDIO) ?? 0) >= (first.get(IN_AUDIO) ?? 0) + 50 && (m.get(OUT_AUDIO) ?? 0) >= (first.get(OUT_AUDIO) ?? 0) + 50;
      },
      { timeoutMs: 15_000, intervalMs: 200, label: '50 more packets in and out' },
    );
    assert.ok((m.get(IN_BYTES) ?? 0) > (first.get(IN_BYTES) ?? 0));
    assert.ok((m.get(OUT_BYTES) ?? 0) > (first.get(OUT_BYTES) ?? 0));
    const count = m.get('livekit_forward_latency_ns_count') ?? 0;
    assert.ok(count >= (first.get('livekit_forward_latency_ns_count') ?? 0));
    assert.equal(m.get('livekit_forward_latency_ns_bucket{le="+Inf"}'), count);
    const sumNs = m.get('livekit_forward_latency_ns_sum') ?? 0;
    run.note(
      `in ${m.get(IN_AUDIO)} pkts / ${m.get(IN_BYTES)} B, out ${m.get(OUT_AUDIO)} pkts / ${m.get(OUT_BYTES)} B; ` +
        `latency samples ${count}, mean ${(sumNs / Math.max(1, count) / 1000).toFixed(1)} us`,
    );
  });
  await run.step('X adds a camera; Y, which now receives video, gets a send-side estimate from its transport-wide feedback; X, audio only, is asked for none', async () => {
    publishers.push(await publishTestPattern(x, { width: 320, height: 180, fps: 15, maxDurationMs: 30_000 }));
    await waitForRemoteTrack(y, { kind: 'video', identity: 'x', label: "[Y] X's camera subscribed", timeoutMs: 15_000 });
    const ySid = y.localParticipant?.sid ?? '';
    const xSid = x.localParticipant?.sid ?? '';
    assert.match(ySid, /^PA_/);
    let estimates: [string, number][] = [];
    await waitFor(
      async () => {
        const m = await scrape(port);
        estimates = [...m].filter(([k]) => k.startsWith('atrium_subscriber_estimate_bps{'));
        return estimates.length > 0 ? estimates : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, label: "Y's estimate in the scrape" },
    );
    // Subscriber audio carries transport-wide sequence numbers only while the subscriber also receives video: an
    // audio-only subscriber sends no feedback, so it has no estimate; Y's comes from the feedback on what it receives.
    assert.deepEqual(estimates.map(([k]) => k), [`atrium_subscriber_estimate_bps{participant_id="${ySid}"}`], `only Y (${ySid}) has an estimate, not X (${xSid})`);
    const bps = estimates[0]![1];
    assert.ok(bps >= 30_000 && bps <= 50_000_000, `Y's estimate ${bps}: within the estimator's bounds`);
    run.note(`Y ${Math.round(bps / 1000)} kbit/s`);
  });
  t.diagnostic(`steps:\n${run.history()}`);
});
