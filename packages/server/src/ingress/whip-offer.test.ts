import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TrackSource, TrackType, VideoQuality, IngressVideoOptions } from '@livekit/protocol';
import { addTrackRequestFor, readWhipOffer } from './whip-offer.js';
import { IngressError } from './ingress-error.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../webrtc/src/sdp/fixtures/${name}`, import.meta.url), 'utf8');

test("Chromium's simulcast offer: audio and video m-lines, their msid track ids and send rids; the data m-line is not media", () => {
  const offer = readWhipOffer(fixture('chromium-simulcast-offer.sdp'), { streamId: 'IN_x' });
  assert.deepEqual(offer.media.map((m) => [m.kind, m.mid, m.trackId, m.rids.join(',')]), [
    ['audio', '0', 'f2e1bf65-404c-4633-90b6-122d8e589f45', ''],
    ['video', '1', '3df9e294-5122-4568-90ab-026aa60748ad', 'q,h,f'],
  ]);
  assert.equal(offer.sdp, fixture('chromium-simulcast-offer.sdp'), 'an offer with msids is passed on as is');
});

test('m-lines without msid (or with "-") get one naming the ingress', () => {
  // Neither a=msid nor a=ssrc ... msid: (the media side reads either).
  const text = fixture('chromium-simulcast-offer.sdp').replace(/^a=msid:.*\r?\n/gm, '').replace(/^a=ssrc:\d+ msid:.*\r?\n/gm, '');
  const offer = readWhipOffer(text, { streamId: 'IN_x' });
  assert.deepEqual(offer.media.map((m) => m.trackId), ['audio-0', 'video-1']);
  assert.match(offer.sdp, /a=mid:0\r?\na=msid:IN_x audio-0/);
  assert.match(offer.sdp, /a=mid:1\r?\na=msid:IN_x video-1/);
  assert.equal(readWhipOffer(offer.sdp, { streamId: 'IN_x' }).media.length, 2, 'the result parses again');
});

test('refusals: not SDP, no media to send, too many of a kind', () => {
  const refusal = (text: string): string => {
    try {
      readWhipOffer(text, { streamId: 'IN_x' });
    } catch (err) {
      assert.ok(err instanceof IngressError);
      assert.equal(err.code, 'invalid_argument');
      return err.message;
    }
    return 'accepted';
  };
  assert.match(refusal('hello'), /not an SDP offer/);
  assert.match(refusal(''), /not an SDP offer/);
  const full = fixture('chromium-simulcast-offer.sdp');
  const dataOnly = full.slice(0, full.indexOf('m=audio')) + full.slice(full.indexOf('m=application'));
  assert.match(refusal(dataOnly), /sends no audio or video/);
  assert.match(refusal(full.replace(/a=sendonly|a=sendrecv/g, 'a=recvonly')), /sends no audio or video/);
  const video = full.slice(full.indexOf('m=video'), full.indexOf('m=application'));
  assert.match(refusal(full.slice(0, full.indexOf('m=application')) + video.replace('a=mid:1', 'a=mid:9')), /more than one audio or more than one video/);
});

test('AddTrackRequests: microphone without RED, camera with one layer per rid lowest first, ingress names and sources', () => {
  const offer = readWhipOffer(fixture('chromium-simulcast-offer.sdp'), { streamId: 'IN_x' });
  const [audio, video] = offer.media;
  const a = addTrackRequestFor(audio!, {});
  assert.equal(a.type, TrackType.AUDIO);
  assert.equal(a.source, TrackSource.MICROPHONE);
  assert.equal(a.disableRed, true);
  assert.equal(a.cid, audio!.trackId);
  const v = addTrackRequestFor({ ...video!, rids: ['f', 'q', 'h'] }, { video: new IngressVideoOptions({ name: 'stage', source: TrackSource.SCREEN_SHARE }) });
  assert.equal(v.type, TrackType.VIDEO);
  assert.equal(v.name, 'stage');
  assert.equal(v.source, TrackSource.SCREEN_SHARE);
  assert.deepEqual(v.layers.map((l) => l.quality), [VideoQuality.LOW, VideoQuality.MEDIUM, VideoQuality.HIGH]);
  assert.deepEqual(addTrackRequestFor({ ...video!, rids: [] }, {}).layers, [], 'no simulcast, no layers');
});
