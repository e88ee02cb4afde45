// livekit.Egress over Twirp against createServer (fake media): every method routed, roomRecord required, bad requests
// answered with invalid_argument / not_found, methods not built yet with `unimplemented` naming what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressClient, TwirpError } from 'livekit-server-sdk';
import { silentLogger } from '@atrium/webrtc';
import { createAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';

async function withServer(run: (server: AtriumServer, base: string) => Promise<void>): Promise<void> {
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: new FakeMediaFactory(), logger: silentLogger });
  try {
    await run(server, `http://127.0.0.1:${server.httpPort}`);
  } finally {
    await server.close();
  }
}

async function call(base: string, methodName: string, body: unknown, grant?: VideoGrant): Promise<{ status: number; json: { code?: string; msg?: string } }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (grant) headers['Authorization'] = `Bearer ${await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', video: grant })}`;
  const res = await fetch(`${base}/twirp/livekit.Egress/${methodName}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { code?: string; msg?: string } };
}

const RECORD: VideoGrant = { roomRecord: true };

test('every EgressClient method is routed: the unbuilt ones answer unimplemented with what is missing', async () => {
  await withServer(async (_server, base) => {
    const cases: [method: string, what: RegExp][] = [
      ['StartWebEgress', /web egress/],
      ['StartEgress', /StartEgress/],
    ];
    for (const [m, what] of cases) {
      const r = await call(base, m, {}, RECORD);
      assert.equal(r.status, 501, m);
      assert.equal(r.json.code, 'unimplemented', m);
      assert.match(r.json.msg ?? '', what, m);
      assert.match(r.json.msg ?? '', /not supported yet/, m);
    }
    const unknown = await call(base, 'StartSomething', {}, RECORD);
    assert.equal(unknown.json.code, 'bad_route');
  });
});

test('roomRecord is required, as LiveKit', async () => {
  await withServer(async (_server, base) => {
    for (const m of ['StartTrackEgress', 'ListEgress', 'StopEgress', 'StartRoomCompositeEgress']) {
      const none = await call(base, m, {});
      assert.deepEqual([none.status, none.json.code], [401, 'unauthenticated'], m);
      const admin = await call(base, m, {}, { roomAdmin: true, room: 'r', roomCreate: true, roomList: true });
      assert.deepEqual([admin.status, admin.json.code], [401, 'unauthenticated'], m);
    }
  });
});

test('bad requests: invalid_argument, not_found, malformed; the server goes on', async () => {
  await withServer(async (server, base) => {
    const err = async (m: string, body: unknown): Promise<string> => {
      const r = await call(base, m, body, RECORD);
      return `${r.status} ${r.json.code}: ${r.json.msg}`;
    };
    assert.match(await err('StartTrackEgress', {}), /^400 invalid_argument: room_name is required/);
    assert.match(await err('StartTrackEgress', { room_name: 'r' }), /^400 invalid_argument: track_id is required/);
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 'TR_x' }), /^400 invalid_argument: an output is required/);
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 'TR_x', file: { filepath: 'x' } }), /^404 not_found: room r does not exist/);
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 'TR_x', websocket_url: 'http://127.0.0.1:9/x' }), /^400 invalid_argument: websocket_url must be a ws:\/\/ or wss:\/\/ URL/);
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 'TR_x', websocket_url: 'not a url' }), /^400 invalid_argument: websocket_url is not a URL/);
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 'TR_x', websocket_url: 'ws://127.0.0.1:9/x' }), /^404 not_found: room r does not exist/);
    assert.match(await err('StartTrackEgress', { room_name: 'x'.repeat(300), track_id: 'TR_x' }), /^400 invalid_argument: room name length/);
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 'T'.repeat(300) }), /^400 invalid_argument: track_id is too long/);
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 7 }), /^400 malformed/);
    assert.match(await err('StartTrackEgress', '{not json'), /^400 malformed/);
    assert.match(await err('StartTrackCompositeEgress', { room_name: 'r' }), /^400 invalid_argument: audio_track_id or video_track_id is required/);
    assert.match(await err('StartTrackCompositeEgress', { room_name: 'r', audio_track_id: 'TR_a' }), /^400 invalid_argument: an output is required/);
    assert.match(await err('StartTrackCompositeEgress', { room_name: 'r', audio_track_id: 'TR_a', file_outputs: [{ filepath: 'x' }], preset: 'H264_720P_30' }), /^404 not_found: room r does not exist/);
    assert.match(await err('UpdateStream', {}), /^400 invalid_argument: egress_id is required/);
    assert.match(await err('UpdateStream', { egress_id: 'EG_none', add_output_urls: ['rtmp://h/live/k'] }), /^404 not_found: egress EG_none does not exist/);
    assert.match(await err('StartParticipantEgress', { room_name: 'r' }), /^400 invalid_argument: identity is required/);
    assert.match(await err('StartParticipantEgress', { room_name: 'r', identity: 'alice', file_outputs: [{ filepath: 'x' }] }), /^404 not_found: room r does not exist/);
    // room composite: bad layouts, custom templates, encodings and outputs are refused before anything starts
    const composite = (extra: object) => err('StartRoomCompositeEgress', { room_name: 'r', file_outputs: [{ filepath: 'x' }], ...extra });
    assert.match(await err('StartRoomCompositeEgress', {}), /^400 invalid_argument: room_name is required/);
    assert.match(await err('StartRoomCompositeEgress', { room_name: 'r' }), /^400 invalid_argument: an output is required/);
    assert.match(await composite({ layout: 'mosaic' }), /^400 invalid_argument: unknown layout "mosaic"/);
    assert.match(await composite({ custom_base_url: 'https://example.com/t' }), /^501 unimplemented: custom_base_url/);
    assert.match(await composite({ audio_only: true, video_only: true }), /^400 invalid_argument: audio_only and video_only/);
    assert.match(await composite({ advanced: { width: 1281, height: 720 } }), /^400 invalid_argument: width and height must be even/);
    assert.match(await composite({ advanced: { video_codec: 'VP8' } }), /^501 unimplemented: VP8 room composites/);
    assert.match(await composite({ preset: 'PASSTHROUGH' }), /^501 unimplemented: preset PASSTHROUGH/);
    assert.match(await err('StartRoomCompositeEgress', { room_name: 'r', file_outputs: [{ filepath: 'x', file_type: 'OGG' }] }), /^400 invalid_argument: OGG cannot hold video/);
    // streams, segments and images are outputs of a composite too (here only the missing room stops it)
    assert.match(await composite({ stream_outputs: [{ urls: ['rtmp://x/y'] }], segment_outputs: [{ filename_prefix: 's' }] }), /^404 not_found: room r does not exist/);
    assert.match(await composite({ audio_only: true, file_outputs: [{ filepath: 'x', file_type: 'OGG' }], segment_outputs: [{ filename_prefix: 's' }] }), /^400 invalid_argument: HLS and RTMP outputs take AAC/);
    assert.match(await composite({ layout: 'grid' }), /^404 not_found: room r does not exist/);
    assert.match(await err('UpdateLayout', { layout: 'grid' }), /^400 invalid_argument: egress_id is required/);
    assert.match(await err('UpdateLayout', { egress_id: 'EG_none', layout: 'grid' }), /^404 not_found: egress EG_none does not exist/);
    assert.match(await err('StopEgress', {}), /^400 invalid_argument: egress_id is required/);
    assert.match(await err('StopEgress', { egress_id: 'EG_none' }), /^404 not_found: egress EG_none does not exist/);
    // a room that exists, a track that does not
    server.rooms.getOrCreateRoom('r');
    assert.match(await err('StartTrackEgress', { room_name: 'r', track_id: 'TR_x', file: { filepath: 'x' } }), /^404 not_found: track TR_x is not published in room r/);
    assert.match(await err('StartParticipantEgress', { room_name: 'r', identity: 'alice', file_outputs: [{ filepath: 'x' }] }), /^404 not_found: participant alice is not in room r/);
    // livekit-server-sdk sees the same
    const client = new EgressClient(base, 'devkey', 'secret');
    assert.deepEqual(await client.listEgress(), []);
    await assert.rejects(client.stopEgress('EG_none'), (e: unknown) => e instanceof TwirpError && e.code === 'not_found');
  });
});
