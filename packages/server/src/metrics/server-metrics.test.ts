// Server metrics: gauges read from the rooms at scrape time over the /metrics listener (fake media), and media
// counters summed from SfuStats (a real Receiver and DownTrack on a manual clock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddTrackRequest, AvailabilityResponse, JobType, ParticipantPermission, Room as RoomInfo, TrackType, TrackSource, WorkerStatus } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { ManualClock } from '@atrium/webrtc/clock.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import { createServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { RoomManager } from '../rtc/room-manager.js';
import { TestSignalClient } from '../signal/test-signal-client.js';
import { Receiver } from '../sfu/receiver.js';
import { DownTrack } from '../sfu/down-track.js';
import { SfuStats } from '../sfu/sfu-stats.js';
import { CONTENT_TYPE } from './registry.js';
import { createServerMetrics } from './server-metrics.js';
import { Dispatcher } from '../agent/dispatcher.js';
import type { TurnServerStats } from '@atrium/webrtc/turn/index.js';

/** `name{labels} value` lines as a map (const labels node_id/node_type stripped). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `bad line: ${line}`);
    const labels = (m[2] ?? '').split(',').filter((l) => l !== '' && !l.startsWith('node_')).join(',');
    out.set(labels === '' ? m[1]! : `${m[1]}{${labels}}`, Number(m[3]));
  }
  return out;
}

test('/metrics serves room, participant, track and subscription gauges; off without prometheus_port', async () => {
  const fake = new FakeMediaFactory();
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: fake, logger: silentLogger, prometheusPort: 0 });
  const off = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: new FakeMediaFactory(), logger: silentLogger });
  try {
    assert.equal(off.metricsPort, undefined);
    assert.ok(server.metricsPort !== undefined && server.metricsPort > 0);
    const scrape = async (path = '/metrics') => {
      const res = await fetch(`http://127.0.0.1:${server.metricsPort}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), CONTENT_TYPE);
      return parse(await res.text());
    };
    let m = await scrape();
    assert.equal(m.get('livekit_room_total'), 0);
    assert.equal(m.get('livekit_forward_latency_ns_count'), 0);
    const room = { roomJoin: true, room: 'm' };
    const alice = await TestSignalClient.join(server.url, 'alice', '', room);
    const bob = await TestSignalClient.join(server.url, 'bob', '', room);
    alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'mic', name: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE }) });
    await alice.waitFor((m) => m.case === 'trackPublished');
    fake.mediaOf('alice').emit('trackPublished', {
      msidTrackId: 'mic', msidStreamId: 's', mid: '0', kind: 'audio', mimeType: 'audio/opus', rids: [], source: new FakeTrackSource('audio', 'audio/opus'),
    });
    await waitFor(() => fake.mediaOf('bob').calls.some((c) => c.method === 'subscribe'), { timeoutMs: 3000, intervalMs: 5, label: 'bob subscribed' });
    m = await scrape();
    assert.equal(m.get('livekit_room_total'), 1);
    assert.equal(m.get('livekit_participant_total'), 2);
    assert.equal(m.get('livekit_track_published_total{kind="audio"}'), 1);
    assert.equal(m.get('livekit_track_published_total{kind="video"}'), 0);
    assert.equal(m.get('livekit_track_subscribed_total{kind="audio"}'), 1);
    assert.equal((await scrape('/')).get('livekit_participant_total'), 2, 'any path serves, as LiveKit');
    const notFound = await fetch(`http://127.0.0.1:${server.metricsPort}/other`);
    assert.equal(notFound.status, 404);
    await notFound.text();
    const head = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.text();
    alice.close();
    bob.close();
  } finally {
    await server.close();
    await off.close();
  }
});

test('media counters by direction, transmission and kind; NACK and PLI by direction', () => {
  const clock = new ManualClock();
  const rooms = new RoomManager({ nodeId: 'ND_x', emptyTimeoutSec: 1, departureTimeoutSec: 1, clock, logger: silentLogger });
  let stats: SfuStats | undefined;
  const metrics = createServerMetrics({ nodeId: 'ND_x', rooms: () => rooms, stats: () => stats });
  stats = new SfuStats({ forwardLatency: metrics.forwardLatency, latencySampleEvery: 1 });
  const receiver = new Receiver({ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, ssrc: 5, sendRtcp: () => {}, clock, stats });
  const down = new DownTrack({ source: receiver, ssrc: 6, payloadType: 111, send: () => {}, clock, stats });
  receiver.addSender(down);
  const h = createRtpHeader();
  const buf = serializeRtpPacket({ payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 5, payload: new Uint8Array(20) });
  assert.ok(parseRtpHeader(buf, h));
  receiver.writeRtp(buf, h);
  down.handleRtcp([{ type: 'pli', senderSsrc: 1, mediaSsrc: 6 }]);
  const text = metrics.registry.render();
  assert.ok(text.includes('# TYPE livekit_packet_total counter\n'), text);
  assert.ok(text.includes('# TYPE livekit_forward_latency_ns histogram\n'));
  assert.ok(text.includes('livekit_room_total{node_id="ND_x",node_type="SERVER"} 0\n'));
  const m = parse(text);
  assert.equal(m.get('livekit_packet_total{direction="incoming",transmission="initial",kind="audio"}'), 1);
  assert.equal(m.get('livekit_packet_total{direction="outgoing",transmission="initial",kind="audio"}'), 1);
  assert.equal(m.get('livekit_packet_total{direction="outgoing",transmission="retransmit",kind="audio"}'), 0);
  assert.equal(m.get('livekit_packet_total{direction="incoming",transmission="initial",kind="video"}'), 0);
  assert.equal(m.get('livekit_packet_bytes{direction="incoming",transmission="initial",kind="audio"}'), buf.length);
  assert.equal(m.get('livekit_packet_bytes{direction="outgoing",transmission="initial",kind="audio"}'), buf.length);
  assert.equal(m.get('livekit_pli_total{direction="incoming"}'), 1);
  assert.equal(m.get('livekit_pli_total{direction="outgoing"}'), 0, 'audio: no PLI upstream');
  assert.equal(m.get('livekit_nack_total{direction="incoming"}'), 0);
  assert.equal(m.get('livekit_forward_latency_ns_count'), 1);
  assert.equal(m.get('livekit_forward_latency_ns_bucket{le="5000"}'), 1);
  receiver.close();
  assert.equal(parse(metrics.registry.render()).get('livekit_packet_total{direction="incoming",transmission="initial",kind="audio"}'), 1, 'kept after close');
  rooms.close();
});

test('agent metrics: workers by type and status, jobs by state, dispatch events', () => {
  const clock = new ManualClock();
  const d = new Dispatcher({ clock, logger: silentLogger, random: () => 0, sink: { sendAvailability: () => {}, sendAssignment: () => {}, sendTermination: () => {} } });
  const metrics = createServerMetrics({ nodeId: 'ND_x', rooms: () => undefined, stats: () => undefined, agents: () => d });
  const reg = { namespace: '', version: '1', permissions: new ParticipantPermission() };
  d.addWorker({ ...reg, id: 'a', agentName: '', jobType: JobType.JT_ROOM });
  d.addWorker({ ...reg, id: 'b', agentName: '', jobType: JobType.JT_ROOM });
  d.addWorker({ ...reg, id: 'p', agentName: '', jobType: JobType.JT_PUBLISHER });
  d.updateWorker('b', { status: WorkerStatus.WS_FULL, load: 1 });
  d.roomStarted(new RoomInfo({ name: 'r1' }));
  const j1 = d.listJobs()[0]!.id;
  d.answer('a', new AvailabilityResponse({ jobId: j1, available: true }));
  d.roomStarted(new RoomInfo({ name: 'r2' }));
  const j2 = d.listJobs()[1]!.id;
  d.answer('a', new AvailabilityResponse({ jobId: j2, available: false }));
  d.roomStarted(new RoomInfo({ name: 'r3' }));
  d.removeWorker('a');
  const m = parse(metrics.registry.render());
  assert.equal(m.get('atrium_agent_workers{job_type="room",status="available"}'), 0);
  assert.equal(m.get('atrium_agent_workers{job_type="room",status="full"}'), 1);
  assert.equal(m.get('atrium_agent_workers{job_type="publisher",status="available"}'), 1);
  // r1's job failed with its worker and was restarted; r2 declined; r3 offered to a, then a left: all waiting.
  assert.equal(m.get('atrium_agent_jobs{state="pending"}'), 3);
  assert.equal(m.get('atrium_agent_jobs{state="running"}'), 0);
  assert.equal(m.get('atrium_agent_job_events_total{event="launched"}'), 4);
  assert.equal(m.get('atrium_agent_job_events_total{event="assigned"}'), 1);
  assert.equal(m.get('atrium_agent_job_events_total{event="declined"}'), 1);
  assert.equal(m.get('atrium_agent_job_events_total{event="failed"}'), 1);
  assert.equal(m.get('atrium_agent_job_events_total{event="restarted"}'), 1);
});

test('media worker metrics: up, participants, sessions, forwarded packets/s and loop utilization per worker; restarts; series of workers that are gone are dropped', () => {
  const workers = [
    { index: 0, participants: 3, isAlive: true, last: { packetsPerSecond: 1200, sessions: 3, loopUtilization: 0.25 } },
    { index: 1, participants: 0, isAlive: false, last: undefined },
  ];
  const view = { workers, restarts: 2 };
  let current: typeof view | undefined = view;
  const metrics = createServerMetrics({ nodeId: 'ND_test', rooms: () => undefined, stats: () => undefined, mediaWorkers: () => current });
  const m = parse(metrics.registry.render());
  assert.equal(m.get('atrium_media_worker_up{worker="0"}'), 1);
  assert.equal(m.get('atrium_media_worker_up{worker="1"}'), 0);
  assert.equal(m.get('atrium_media_worker_participants{worker="0"}'), 3);
  assert.equal(m.get('atrium_media_worker_participants{worker="1"}'), 0);
  assert.equal(m.get('atrium_media_worker_sessions{worker="0"}'), 3);
  assert.equal(m.get('atrium_media_worker_forwarded_packets_per_second{worker="0"}'), 1200);
  assert.equal(m.get('atrium_media_worker_loop_utilization{worker="0"}'), 0.25);
  assert.equal(m.has('atrium_media_worker_loop_utilization{worker="1"}'), false);
  // A worker with no report yet (just replaced) has no load sample rather than a made-up zero.
  assert.equal(m.has('atrium_media_worker_forwarded_packets_per_second{worker="1"}'), false);
  assert.equal(m.get('atrium_media_worker_restarts_total'), 2);
  current = undefined; // e.g. the factory closed: no worker series left over from the last scrape
  const none = parse(metrics.registry.render());
  assert.deepEqual([...none.keys()].filter((k) => k.startsWith('atrium_media_worker')), ['atrium_media_worker_restarts_total']);
  assert.equal(none.get('atrium_media_worker_restarts_total'), 0);
});

test('TURN families: nothing (or 0) while TURN is off; allocations, relayed packets and request results from its counters', () => {
  let turn: TurnServerStats | undefined;
  const metrics = createServerMetrics({ nodeId: 'ND_t', rooms: () => undefined, stats: () => undefined, turn: () => turn });
  let m = parse(metrics.registry.render());
  assert.equal(m.get('atrium_turn_allocations') ?? 0, 0);
  assert.equal(m.get('atrium_turn_relayed_packet_total{direction="to_peer"}'), undefined);
  turn = { allocations: 3, requests: 10, errorResponses: 4, dropped: 1, relayedToPeer: 500, relayedToClient: 700, droppedNoPermission: 2 };
  m = parse(metrics.registry.render());
  assert.equal(m.get('atrium_turn_allocations'), 3);
  assert.equal(m.get('atrium_turn_relayed_packet_total{direction="to_peer"}'), 500);
  assert.equal(m.get('atrium_turn_relayed_packet_total{direction="to_client"}'), 700);
  assert.equal(m.get('atrium_turn_relayed_packet_total{direction="no_permission"}'), 2);
  assert.equal(m.get('atrium_turn_request_total{result="success"}'), 6);
  assert.equal(m.get('atrium_turn_request_total{result="error"}'), 4);
});
