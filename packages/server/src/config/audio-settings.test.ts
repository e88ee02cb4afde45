// livekit.yaml `audio:` reaches the speaking-level meter (active_level, update_interval as the window) and each
// room's SpeakersChanged interval (update_interval): the same audio reads differently under different settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddTrackRequest, TrackSource, TrackType } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { loadConfig } from './load-config.js';
import { devConfig } from './server-config.js';
import type { ServerConfig } from './server-config.js';
import { AudioLevelMeter, audioLevelParams } from '../sfu/audio-level.js';
import { createServer } from '../create-server.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { TestSignalClient } from '../signal/test-signal-client.js';

const OPUS_STEP = 960; // 20 ms at 48 kHz
const config = (audio: string): ServerConfig => loadConfig({ yaml: `keys: {k: s}\nbind_addresses: [127.0.0.1]\n${audio}` });

/** Feeds `ms` of 20 ms packets at `level` (-dBov) on the manual clock; returns the meter's reading at the end. */
function reading(meter: AudioLevelMeter, clock: ManualClock, state: { ts: number }, level: number, ms: number): number {
  for (let t = 0; t < ms; t += 20) {
    meter.observePacket(level, state.ts, clock.nowMs());
    state.ts += OPUS_STEP;
    clock.advance(20);
  }
  return meter.speakingLevel(clock.nowMs());
}

test('audio.active_level and audio.update_interval change what the meter reports', () => {
  const defaults = config('');
  const custom = config('audio:\n  active_level: 25\n  update_interval: 200\n');
  const meter = (c: ServerConfig): AudioLevelMeter => new AudioLevelMeter({ clockRate: 48_000, params: audioLevelParams(c.audio) });

  // 220 ms at -20 dBov: the 200 ms window has closed (speaking), the default 400 ms window has not yet.
  const clockA = new ManualClock();
  const clockB = new ManualClock();
  const a = meter(defaults);
  const b = meter(custom);
  const sa = { ts: 0 };
  const sb = { ts: 0 };
  assert.equal(reading(a, clockA, sa, 20, 240), 0, 'default: window still open');
  assert.ok(reading(b, clockB, sb, 20, 240) > 0, 'update_interval 200: speaking after one window');

  // -30 dBov is speech at the default active_level (35) but too quiet at 25.
  assert.ok(reading(a, clockA, sa, 30, 1200) > 0, 'active_level 35: -30 dBov speaks');
  assert.equal(reading(b, clockB, sb, 30, 1200), 0, 'active_level 25: -30 dBov does not');
});

class SpeakingSource extends FakeTrackSource {
  speakingLevel(): number {
    return 0.5;
  }
}

/** Joins alice to a server built from `c`, publishes a speaking microphone and counts SpeakersChanged after `ms`. */
async function speakerUpdatesAfter(c: ServerConfig, ms: number): Promise<number> {
  const clock = new ManualClock();
  const fake = new FakeMediaFactory();
  const server = await createServer({ ...devConfig({ port: 0, rtc: { udpPort: 0 } }), audio: c.audio }, { mediaFactory: fake, logger: silentLogger, clock });
  try {
    const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room: 'speakers' });
    alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'mic', name: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE }) });
    await alice.waitFor((m) => m.case === 'trackPublished');
    const published = server.rooms.getRoom('speakers')?.listParticipants()[0];
    fake.mediaOf('alice').emit('trackPublished', {
      msidTrackId: 'mic', msidStreamId: 's', mid: '0', kind: 'audio', mimeType: 'audio/opus', rids: [], source: new SpeakingSource('audio', 'audio/opus'),
    });
    assert.ok(published?.tracks.some((t) => t.mid === '0'), 'the track is bound to its media');
    clock.advance(ms);
    // The pong follows every SpeakersChanged the timers sent during advance() on the same ordered socket.
    const from = alice.messages.length;
    alice.send({ case: 'ping', value: 1n });
    await alice.waitFor((m) => m.case === 'pong', { from });
    const n = alice.messages.filter((m) => m.case === 'speakersChanged').length;
    alice.close();
    return n;
  } finally {
    await server.close();
  }
}

test('audio.update_interval sets how often a room sends SpeakersChanged', async () => {
  assert.equal(await speakerUpdatesAfter(config(''), 250), 0, 'default 400 ms: nothing after 250 ms');
  assert.equal(await speakerUpdatesAfter(config('audio:\n  update_interval: 200\n'), 250), 1, '200 ms: one update after 250 ms');
});
