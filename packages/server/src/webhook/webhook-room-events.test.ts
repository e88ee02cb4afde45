// Room events become LiveKit webhooks: a server with fake media and a real receiver (livekit-server-sdk's
// WebhookReceiver) sees join / publish / unpublish / leave / room close in LiveKit's order, all verified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddTrackRequest, TrackType, TrackSource, LeaveRequest, LeaveRequest_Action, DisconnectReason } from '@livekit/protocol';
import type { WebhookEvent } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { TestSignalClient } from '../signal/test-signal-client.js';
import { startWebhookReceiver } from './test-webhook-receiver.js';

const polling = { timeoutMs: 5000, intervalMs: 5 } as const;

function describe(e: WebhookEvent): string {
  const who = e.participant ? ` ${e.participant.identity}` : '';
  const what = e.track ? ` ${e.track.name}` : '';
  return `${e.event}${who}${what}`;
}

async function publishMic(client: TestSignalClient, fake: FakeMediaFactory, identity: string, cid: string, mid: string): Promise<string> {
  client.send({ case: 'addTrack', value: new AddTrackRequest({ cid, name: cid, type: TrackType.AUDIO, source: TrackSource.MICROPHONE }) });
  const resp = await client.waitFor((m) => m.case === 'trackPublished' && m.value.cid === cid);
  const source = new FakeTrackSource('audio', 'audio/opus');
  fake.mediaOf(identity).emit('trackPublished', { msidTrackId: cid, msidStreamId: 's', mid, kind: 'audio', mimeType: 'audio/opus', rids: [], source });
  return (resp.value as { track: { sid: string } }).track.sid;
}

test('join, publish, unpublish, leave and room close arrive as verified webhooks in order', async () => {
  const receiver = await startWebhookReceiver('devkey', 'secret');
  const fake = new FakeMediaFactory();
  const server = await createServer(
    devConfig({ port: 0, rtc: { udpPort: 0 }, room: { departureTimeoutSec: 0 }, webhook: { apiKey: 'devkey', urls: [receiver.url] } }),
    { mediaFactory: fake, logger: silentLogger },
  );
  try {
    const video = { roomJoin: true, room: 'hooks' };
    const alice = await TestSignalClient.join(server.url, 'alice', '', video);
    const bob = await TestSignalClient.join(server.url, 'bob', '', video);
    // participant_joined is sent when the primary (subscriber) PC connects, not at signal join.
    fake.mediaOf('alice').emit('connectionState', { target: 1, state: 'connected' });
    fake.mediaOf('bob').emit('connectionState', { target: 0, state: 'connected' }); // publisher PC: not primary
    await waitFor(() => receiver.received.length === 2, { ...polling, label: 'room_started, alice joined' });
    const micSid = await publishMic(alice, fake, 'alice', 'mic', '0');
    await publishMic(alice, fake, 'alice', 'mic2', '1');
    // bob only now becomes ACTIVE: his participant_joined follows alice's track_published events.
    fake.mediaOf('bob').emit('connectionState', { target: 1, state: 'connected' });
    fake.mediaOf('alice').emit('trackEnded', { mid: '0', msidTrackId: 'mic' });
    // alice leaves holding mic2: its track_unpublished comes before her participant_left.
    alice.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveRequest_Action.DISCONNECT }) });
    await alice.waitClosed();
    // bob's media connected: a bare close would keep him for a resume (docs/resume.md), so he leaves too.
    bob.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveRequest_Action.DISCONNECT }) });
    bob.close();
    await waitFor(() => server.rooms.roomCount === 0, { ...polling, label: 'room closed' });
    await waitFor(() => receiver.received.length === 10, { ...polling, label: 'all webhooks delivered' });
    assert.deepEqual(receiver.rejected, []);
    const events = receiver.received.map((r) => r.event);
    assert.deepEqual(events.map(describe), [
      'room_started',
      'participant_joined alice',
      'track_published alice mic',
      'track_published alice mic2',
      'participant_joined bob',
      'track_unpublished alice mic',
      'track_unpublished alice mic2',
      'participant_left alice',
      'participant_left bob',
      'room_finished',
    ]);
    const roomSid = events[0]?.room?.sid;
    assert.match(roomSid ?? '', /^RM_/);
    for (const e of events) {
      assert.equal(e.room?.name, 'hooks');
      assert.equal(e.room?.sid, roomSid);
      assert.match(e.id, /^EV_/);
      assert.ok(e.createdAt > 0n);
    }
    assert.equal(events[2]?.track?.sid, micSid);
    assert.equal(events[5]?.track?.sid, micSid);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'every event has its own id');
    assert.ok(receiver.received.every((r) => r.contentType === 'application/webhook+json'));
  } finally {
    await server.close();
    await receiver.close();
  }
});
