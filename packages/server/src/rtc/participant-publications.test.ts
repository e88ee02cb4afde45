// What a participant's publications tell the publisher answer about audio tracks (requestedCodecs, opusParams): a
// pending track asks for RED unless it disabled it, a published one keeps the codec its media came with (keyed by the
// msid track id it was bound under), and binding hands the TrackInfo's audio facts to the media source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddTrackRequest, AudioTrackFeature, TrackSource, TrackType } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { ParticipantPublications } from './participant-publications.js';
import type { MediaTrackSource, PublishedMediaTrack } from './participant-media.js';

function audioMedia(msidTrackId: string, mimeType: string, seen: unknown[]): PublishedMediaTrack {
  const source: MediaTrackSource = {
    kind: 'audio', mimeType, setMuted: () => {},
    setAudioFeatures: (f) => seen.push(f),
  };
  return { msidTrackId, msidStreamId: 's', mid: '0', kind: 'audio', mimeType, rids: [], source };
}

test('audio: pending tracks ask for RED unless disabled; a published track keeps its codec; Opus parameters per track', () => {
  const bound: string[] = [];
  const pubs = new ParticipantPublications({ events: { bound: (t) => bound.push(t.info.sid), ended: () => {}, codecsChanged: () => {} }, logger: silentLogger });
  const mic = (cid: string, fields: Partial<AddTrackRequest> = {}): void => {
    pubs.add(new AddTrackRequest({ cid, type: TrackType.AUDIO, source: TrackSource.MICROPHONE, ...fields }));
  };
  mic('mic');
  mic('music', { stereo: true, disableDtx: true, disableRed: true });
  pubs.add(new AddTrackRequest({ cid: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA }));
  assert.deepEqual(Object.fromEntries(pubs.requestedCodecs()), { mic: 'audio/red', music: 'audio/opus', cam: 'video/VP8' });
  assert.deepEqual(Object.fromEntries(pubs.opusParams()), { mic: 'usedtx=1', music: 'stereo=1;maxaveragebitrate=510000' });

  // The microphone's media arrives as plain Opus (its first answer came before the request, say): it stays Opus.
  const features: unknown[] = [];
  pubs.mediaArrived(audioMedia('mic', 'audio/opus', features));
  assert.equal(bound.length, 1);
  assert.equal(pubs.requestedCodecs().get('mic'), 'audio/opus');
  assert.equal(pubs.opusParams().get('mic'), 'usedtx=1');
  assert.deepEqual(features, [{ isStereo: false, isRedDisabled: false, isEncrypted: false }]);
  // The music arrives under another msid track id (the browser changed it): keyed by that id from now on.
  pubs.mediaArrived(audioMedia('music-sdp', 'audio/opus', features));
  assert.equal(pubs.opusParams().get('music-sdp'), 'stereo=1;maxaveragebitrate=510000');
  assert.deepEqual(features[1], { isStereo: true, isRedDisabled: true, isEncrypted: false });
  // A RED track is published as audio/red, and later answers keep RED first.
  mic('red-mic', { audioFeatures: [AudioTrackFeature.TF_NO_DTX] });
  pubs.mediaArrived(audioMedia('red-mic', 'audio/red', features));
  const info = pubs.tracks.find((t) => t.msidTrackId === 'red-mic')?.info;
  assert.deepEqual([info?.mimeType, info?.codecs[0]?.mimeType], ['audio/red', 'audio/red']);
  assert.equal(pubs.requestedCodecs().get('red-mic'), 'audio/red');
  assert.equal(pubs.opusParams().get('red-mic'), '');
});
