// Track egress to a WebSocket, as LiveKit's: livekit-server-sdk's EgressClient starts a track egress of an
// @livekit/rtc-node participant's 440 Hz tone with a `websocket_url` served by this test. The receiver sees LiveKit's
// `Content-Type: audio/x-raw`, binary messages of raw PCM (s16le, 48 kHz, two channels interleaved) carrying the tone,
// a `{"muted":true}` text message when RoomService mutes the track, and a normal close when the egress is stopped.
// A URL nobody listens on fails the egress with the reason; a video track is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressClient, RoomServiceClient, TwirpError } from 'livekit-server-sdk';
import { EgressStatus } from '@livekit/protocol';
import type { Room } from '@livekit/rtc-node';
import { WebSocketServer } from 'ws';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { connectRtcNode, publishPaintedVideo, publishSineTone, teardownRtcNode, type RunningPublisher } from './helpers/rtc-node.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { checkTone } from './helpers/tone.js';

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];

interface Received {
  headers: IncomingHttpHeaders;
  url: string;
  pcm: Buffer[];
  texts: string[];
  closeCode?: number;
}
let wss: WebSocketServer | undefined;
const sessions: Received[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws, req) => {
    const r: Received = { headers: req.headers, url: req.url ?? '', pcm: [], texts: [] };
    sessions.push(r);
    ws.on('message', (data, isBinary) => (isBinary ? r.pcm.push(Buffer.from(data as Buffer)) : r.texts.push(data.toString())));
    ws.on('close', (code) => (r.closeCode = code));
  });
});
after(() =>
  teardownRtcNode({
    publishers, rooms,
    also: [
      { what: 'closing the websocket server', work: () => new Promise<void>((r) => (wss ? wss.close(() => r()) : r())) },
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
    ],
  }),
);

/** Waits until the server has the track's media (a track is published, and recordable, once media arrives). */
async function waitPublished(roomName: string, sids: string[]): Promise<void> {
  assert.ok(server);
  const rooms = new RoomServiceClient(server.url, DEV_API_KEY, DEV_API_SECRET);
  await waitFor(async () => {
    const tracks = (await rooms.listParticipants(roomName)).flatMap((p) => p.tracks).filter((t) => t.mimeType !== '');
    return sids.every((sid) => tracks.some((t) => t.sid === sid));
  }, { timeoutMs: 15_000, label: 'the tracks published on the server' });
}

/** The left channel of interleaved stereo s16le. */
function leftChannel(pcm: Buffer): Int16Array {
  const frames = Math.floor(pcm.length / 4);
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) out[i] = pcm.readInt16LE(i * 4);
  return out;
}

test('an audio track streamed to a websocket as raw PCM, with mute events and a clean close', { timeout: 90_000 }, async () => {
  assert.ok(server && wss);
  const roomName = `ws-egress-${Date.now()}`;
  const a = await connectRtcNode(server.url, await server.token({ identity: 'a', room: roomName }), { label: 'a' });
  rooms.push(a);
  const tone = await publishSineTone(a, { frequencyHz: 440, maxDurationMs: 60_000 });
  publishers.push(tone);
  const trackSid = tone.publication.sid!;
  await waitPublished(roomName, [trackSid]);
  const egress = new EgressClient(server.url, DEV_API_KEY, DEV_API_SECRET);
  const port = (wss.address() as AddressInfo).port;
  const info = await egress.startTrackEgress(roomName, `ws://127.0.0.1:${port}/egress?trackID=${trackSid}&participant=a`, trackSid);
  await waitFor(async () => (await egress.listEgress({ egressId: info.egressId }))[0]?.status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 15_000, label: 'egress active' });
  const session = sessions.at(-1)!;
  assert.equal(session.headers['content-type'], 'audio/x-raw');
  assert.equal(session.url, `/egress?trackID=${trackSid}&participant=a`);
  await waitFor(() => session.pcm.reduce((n, b) => n + b.length, 0) >= 48_000 * 4 * 2, { timeoutMs: 15_000, label: 'two seconds of PCM' });
  const pcm = Buffer.concat(session.pcm);
  // the last second: 48 kHz stereo s16le with the publisher's tone
  const tail = leftChannel(pcm.subarray(pcm.length - 48_000 * 4));
  const found = checkTone(tail, { sampleRate: 48_000, expectedHz: 440 });
  assert.ok(found.matches, `440 Hz in the PCM (dominant ${found.frequencyHz} Hz)`);

  await new RoomServiceClient(server.url, DEV_API_KEY, DEV_API_SECRET).mutePublishedTrack(roomName, 'a', trackSid, true);
  await waitFor(() => session.texts.length > 0, { timeoutMs: 10_000, label: 'a muted message' });
  assert.deepEqual(session.texts.map((t) => JSON.parse(t) as unknown), [{ muted: true }]);

  await egress.stopEgress(info.egressId);
  await waitFor(() => session.closeCode !== undefined, { timeoutMs: 10_000, label: 'the websocket closed' });
  assert.equal(session.closeCode, 1000);
  const [done] = await egress.listEgress({ egressId: info.egressId });
  assert.equal(done?.status, EgressStatus.EGRESS_COMPLETE, done?.error);
});

test('a websocket nobody listens on fails the egress with the reason; a video track is refused', { timeout: 60_000 }, async () => {
  assert.ok(server);
  const roomName = `ws-egress-bad-${Date.now()}`;
  const b = await connectRtcNode(server.url, await server.token({ identity: 'b', room: roomName }), { label: 'b' });
  rooms.push(b);
  const tone = await publishSineTone(b, { frequencyHz: 440, maxDurationMs: 30_000 });
  publishers.push(tone);
  const video = await publishPaintedVideo(b, { width: 320, height: 180, fps: 10, maxDurationMs: 30_000, paint: (frame) => frame.fill(128) });
  publishers.push(video);
  await waitPublished(roomName, [tone.publication.sid!, video.publication.sid!]);
  const egress = new EgressClient(server.url, DEV_API_KEY, DEV_API_SECRET);
  const info = await egress.startTrackEgress(roomName, 'ws://127.0.0.1:1/nobody', tone.publication.sid!);
  const failed = await waitFor(async () => {
    const [x] = await egress.listEgress({ egressId: info.egressId });
    return x && x.status !== EgressStatus.EGRESS_STARTING && x.status !== EgressStatus.EGRESS_ACTIVE ? x : undefined;
  }, { timeoutMs: 15_000, label: 'the egress ended' });
  assert.ok(failed.status === EgressStatus.EGRESS_ABORTED || failed.status === EgressStatus.EGRESS_FAILED, EgressStatus[failed.status]);
  assert.match(failed.error, /cannot open the websocket ws:\/\/127\.0\.0\.1:1\/nobody: .*ECONNREFUSED/);
  await assert.rejects(egress.startTrackEgress(roomName, 'ws://127.0.0.1:1/x', video.publication.sid!), (err: unknown) => err instanceof TwirpError && err.code === 'invalid_argument' && /takes an audio track/.test(err.message));
  await assert.rejects(egress.startTrackEgress(roomName, 'http://127.0.0.1:1/x', tone.publication.sid!), (err: unknown) => err instanceof TwirpError && /ws:\/\/ or wss:\/\//.test(err.message));
});
