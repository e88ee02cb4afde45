// Structured logs carry their context: captured pino JSON lines of a join, a publish, a subscription and a leave
// name the room (room, roomID), the participant (participant, pID) and the track (track) they are about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AddTrackRequest, TrackType, TrackSource } from '@livekit/protocol';
import type { Logger } from '@atrium/webrtc';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from './create-server.js';
import { devConfig } from './config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from './rtc/fake-media.js';
import type { ParticipantMedia } from './rtc/participant-media.js';
import { TestSignalClient } from './signal/test-signal-client.js';

type Line = Record<string, unknown> & { msg: string };

/** A fake media factory that logs one line through the logger each media session is given. */
class LoggingMediaFactory extends FakeMediaFactory {
  override createParticipantMedia(opts: { participantSid: string; identity: string; logger: Logger }): ParticipantMedia {
    opts.logger.info('media session created');
    return super.createParticipantMedia(opts);
  }
}

test('room, participant, media and track lines carry room/roomID/participant/pID/track', async () => {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) }) as unknown as Logger;
  const fake = new LoggingMediaFactory();
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: fake, logger });
  try {
    const room = { roomJoin: true, room: 'logs' };
    const alice = await TestSignalClient.join(server.url, 'alice', '', room);
    const bob = await TestSignalClient.join(server.url, 'bob', '', room);
    alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'mic', name: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE }) });
    const published = await alice.waitFor((m) => m.case === 'trackPublished');
    const trackSid = (published.value as { track: { sid: string } }).track.sid;
    fake.mediaOf('alice').emit('trackPublished', {
      msidTrackId: 'mic', msidStreamId: 's', mid: '0', kind: 'audio', mimeType: 'audio/opus', rids: [], source: new FakeTrackSource('audio', 'audio/opus'),
    });
    await waitFor(() => fake.mediaOf('bob').calls.some((c) => c.method === 'subscribe'), { timeoutMs: 3000, intervalMs: 5, label: 'bob subscribed' });
    alice.close();
    await waitFor(() => lines.some((l) => l.msg === 'participant left' && l['participant'] === 'alice'), { timeoutMs: 3000, intervalMs: 5, label: 'alice left' });
    bob.close();

    const roomSid = server.rooms.getRoom('logs')?.sid;
    assert.ok(roomSid?.startsWith('RM_'));
    const one = (pred: (l: Line) => boolean, what: string): Line => {
      const l = lines.find(pred);
      assert.ok(l, `${what}: no such line in\n${lines.map((x) => JSON.stringify(x)).join('\n')}`);
      return l;
    };
    const created = one((l) => l.msg === 'room created', 'room created');
    assert.equal(created['room'], 'logs');
    assert.equal(created['roomID'], roomSid);

    const joined = one((l) => l.msg === 'participant joined' && l['participant'] === 'alice', 'participant joined');
    assert.equal(joined['roomID'], roomSid);
    assert.match(String(joined['pID']), /^PA_/);
    const alicePid = joined['pID'];

    const media = one((l) => l.msg === 'media session created' && l['participant'] === 'alice', 'media session');
    assert.equal(media['room'], 'logs');
    assert.equal(media['roomID'], roomSid);
    assert.equal(media['participant'], 'alice');
    assert.equal(media['pID'], alicePid);

    const signal = one((l) => l.msg === 'signal connected' && l['participant'] === 'alice', 'signal session');
    assert.equal(signal['room'], 'logs');
    assert.equal(signal['roomID'], roomSid);
    assert.equal(signal['pID'], alicePid);

    const track = one((l) => l.msg === 'track published', 'track published');
    assert.equal(track['track'], trackSid);
    assert.equal(track['participant'], 'alice');
    assert.equal(track['pID'], alicePid);
    assert.equal(track['roomID'], roomSid);

    const sub = one((l) => l.msg === 'subscribed' && l['participant'] === 'bob', 'subscription');
    assert.equal(sub['track'], trackSid);
    assert.equal(sub['publisher'], 'alice');
    assert.equal(sub['roomID'], roomSid);

    const left = one((l) => l.msg === 'participant left' && l['participant'] === 'alice', 'participant left');
    assert.equal(left['roomID'], roomSid);
    assert.equal(left['pID'], alicePid);
  } finally {
    await server.close();
  }
});
