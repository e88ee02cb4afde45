import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantInfo_State, SignalResponse, TrackInfo, TrackSource, TrackType } from '@livekit/protocol';
import type { SpeakerInfo } from '@livekit/protocol';
import { ManualClock } from '@atrium/webrtc';
import type { MediaTrackSource } from './participant-media.js';
import type { PublishedTrack } from './participant-host.js';
import { SpeakerDetector } from './speaker-detector.js';
import type { ObservedParticipant } from './speaker-detector.js';

class LevelSource implements MediaTrackSource {
  readonly kind = 'audio' as const;
  readonly mimeType = 'audio/opus';
  level = 0;
  setMuted(): void {}
  speakingLevel(): number {
    return this.level;
  }
}

interface FakePeer extends ObservedParticipant {
  readonly sent: SignalResponse[];
  readonly mic: LevelSource;
  readonly micTrack: PublishedTrack;
  readonly subscriptions: Set<string>;
}

function peer(sid: string, opts: { source?: TrackSource; hidden?: boolean } = {}): FakePeer {
  const mic = new LevelSource();
  const info = new TrackInfo({ sid: `TR_${sid}`, type: TrackType.AUDIO, source: opts.source ?? TrackSource.MICROPHONE });
  const micTrack: PublishedTrack = { info, source: mic, mid: '0', msidTrackId: 'x', subscribers: new Set() };
  const sent: SignalResponse[] = [];
  return {
    sid, state: ParticipantInfo_State.ACTIVE, isHidden: opts.hidden ?? false, protocol: 16, tracks: [micTrack],
    subscriptions: new Set(), media: {}, sent, mic, micTrack, send: (m) => sent.push(m),
  };
}

function speakerUpdates(p: FakePeer): SpeakerInfo[][] {
  return p.sent.flatMap((m) => (m.message.case === 'speakersChanged' ? [m.message.value.speakers] : []));
}

function brief(list: SpeakerInfo[]): string[] {
  return list.map((s) => `${s.sid}:${s.level}:${s.active ? 'on' : 'off'}`);
}

function setup(peers: FakePeer[]): { clock: ManualClock; detector: SpeakerDetector } {
  const clock = new ManualClock();
  const detector = new SpeakerDetector({ clock, participants: () => peers });
  detector.start();
  return { clock, detector };
}

test('speakers go out every interval as changes only: quantized levels, then active=false when quiet', () => {
  const alice = peer('alice');
  const bob = peer('bob');
  bob.subscriptions.add('TR_alice');
  const { clock, detector } = setup([alice, bob]);
  clock.advance(400);
  assert.deepEqual(speakerUpdates(bob), [], 'nobody speaks: nothing sent');

  alice.mic.level = 0.3;
  clock.advance(400);
  assert.deepEqual(speakerUpdates(bob).map(brief), [['alice:0.375:on']], 'level rounded up to eighths');
  assert.deepEqual(speakerUpdates(alice).map(brief), [['alice:0.375:on']], 'the speaker hears about itself');

  alice.mic.level = 0.32; // same eighth: no change, nothing sent
  clock.advance(400);
  assert.equal(speakerUpdates(bob).length, 1);

  alice.mic.level = 0.6;
  clock.advance(400);
  assert.deepEqual(brief(speakerUpdates(bob).at(-1)!), ['alice:0.625:on']);

  alice.mic.level = 0;
  clock.advance(400);
  assert.deepEqual(brief(speakerUpdates(bob).at(-1)!), ['alice:0:off']);
  clock.advance(2000);
  assert.equal(speakerUpdates(bob).length, 3, 'silence stays silent');
  detector.close();
  assert.equal(clock.pendingTimers, 0);
});

test('participants hear only about themselves and whom they subscribe to; loudest first', () => {
  const alice = peer('alice');
  const bob = peer('bob');
  const carol = peer('carol');
  carol.subscriptions.add('TR_alice').add('TR_bob');
  const { clock, detector } = setup([alice, bob, carol]);
  alice.mic.level = 0.2;
  bob.mic.level = 0.9;
  clock.advance(400);
  assert.deepEqual(speakerUpdates(carol).map(brief), [['bob:1:on', 'alice:0.25:on']]);
  assert.deepEqual(speakerUpdates(alice).map(brief), [['alice:0.25:on']], 'alice subscribes to nobody');
  assert.deepEqual(speakerUpdates(bob).map(brief), [['bob:1:on']]);
  detector.close();
});

test('muted tracks, non-microphone sources and hidden participants are never speakers', () => {
  const muted = peer('muted');
  muted.micTrack.info.muted = true;
  const screen = peer('screen', { source: TrackSource.SCREEN_SHARE_AUDIO });
  const hidden = peer('hidden', { hidden: true });
  const listener = peer('listener');
  for (const p of [muted, screen, hidden]) {
    p.mic.level = 1;
    listener.subscriptions.add(`TR_${p.sid}`);
  }
  const { clock, detector } = setup([muted, screen, hidden, listener]);
  clock.advance(1200);
  assert.deepEqual(speakerUpdates(listener), []);
  muted.micTrack.info.muted = false;
  clock.advance(400);
  assert.deepEqual(speakerUpdates(listener).map(brief), [['muted:1:on']]);
  detector.close();
});

test('a speaker who leaves is reported as stopped', () => {
  const alice = peer('alice');
  const bob = peer('bob');
  bob.subscriptions.add('TR_alice');
  const peers = [alice, bob];
  const { clock, detector } = setup(peers);
  alice.mic.level = 0.5;
  clock.advance(400);
  peers.splice(0, 1);
  clock.advance(400);
  assert.deepEqual(speakerUpdates(bob).map(brief), [['alice:0.5:on'], ['alice:0:off']]);
  detector.close();
});
