// The publisher answer for audio tracks, through the real server and media side: the AddTrackRequest decides Opus DTX
// (usedtx=1 unless TF_NO_DTX / disable_dtx), stereo (stereo=1;maxaveragebitrate=510000 for TF_STEREO / stereo) and
// RED (red/48000/2 first unless disable_red) on the m-line whose msid track id is its cid, as LiveKit's
// configurePublisherAnswer and setCodecPreferencesOpusRedForPublisher do. Offer from Chromium (captured fixture).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { AddTrackRequest, AudioTrackFeature, SessionDescription, TrackSource, TrackType } from '@livekit/protocol';
import type { TrackPublishedResponse } from '@livekit/protocol';
import { readFixture } from '@atrium/webrtc/sdp/fixtures/samples.js';
import { createServer, type AtriumServer } from '../create-server.js';
import { devConfig, type ServerConfigOverrides } from '../config/server-config.js';
import { TestSignalClient } from '../signal/test-signal-client.js';

/** Chromium's publisher offer: audio m-line 0 (msid track id below, Opus 111 then RED 63 `111/111`), video, data. */
const OFFER = readFixture('chromium-publisher-offer.sdp');
const AUDIO_CID = 'f2e1bf65-404c-4633-90b6-122d8e589f45';

let server: AtriumServer | undefined;
let redless: AtriumServer | undefined;
const clients: TestSignalClient[] = [];
before(async () => {
  const base: ServerConfigOverrides = { port: 0, rtc: { udpPort: 0 }, logging: { level: 'silent' } };
  server = await createServer(devConfig(base));
  // room.enabled_codecs without audio/red: RED is neither taken nor offered.
  redless = await createServer(devConfig({
    ...base, room: { enabledCodecs: ['audio/opus', 'video/VP8', 'video/H264'].map((mime) => ({ mime, fmtpLine: '' })) },
  }));
});
after(async () => {
  for (const c of clients) c.close();
  await server?.close();
  await redless?.close();
});

let nextIdentity = 0;
async function publisher(on: AtriumServer | undefined): Promise<TestSignalClient> {
  assert.ok(on, 'server started');
  const c = await TestSignalClient.join(on.url, `pub-${nextIdentity++}`);
  clients.push(c);
  return c;
}

function addTrack(c: TestSignalClient, fields: Partial<AddTrackRequest>): Promise<TrackPublishedResponse> {
  c.send({
    case: 'addTrack',
    value: new AddTrackRequest({ cid: AUDIO_CID, name: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE, ...fields }),
  });
  return c.waitFor((m) => m.case === 'trackPublished').then((m) => m.value as TrackPublishedResponse);
}

/** Sends the offer and returns the answer's audio `m=` line and Opus fmtp line. */
async function answerAudio(c: TestSignalClient, id: number): Promise<{ mLine: string; opus: string }> {
  c.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: OFFER, id }) });
  const answer = (await c.waitFor((m) => m.case === 'answer' && m.value.id === id)).value as SessionDescription;
  const lines = answer.sdp.split('\r\n');
  return { mLine: lines.find((l) => l.startsWith('m=audio')) ?? '', opus: lines.find((l) => l.startsWith('a=fmtp:111 ')) ?? '' };
}

const RED_FIRST = 'm=audio 9 UDP/TLS/RTP/SAVPF 63 111';
const OPUS_FIRST = 'm=audio 9 UDP/TLS/RTP/SAVPF 111 63';

// What livekit-client and rtc-node send (docs/livekit-protocol.md 3.6), and what the answer must say.
const cases: [string, Partial<AddTrackRequest>, string, string][] = [
  ['a microphone (livekit-client and rtc-node defaults): DTX, RED', {}, RED_FIRST, 'a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1'],
  ['livekit-client forceStereo (stereo, DTX and RED off by default)',
    { stereo: true, disableDtx: true, disableRed: true, audioFeatures: [AudioTrackFeature.TF_NO_DTX] },
    OPUS_FIRST, 'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;maxaveragebitrate=510000'],
  ['a stereo capture (TF_STEREO) with DTX and RED kept',
    { audioFeatures: [AudioTrackFeature.TF_STEREO] },
    RED_FIRST, 'a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1;stereo=1;maxaveragebitrate=510000'],
  ['TF_NO_DTX alone', { audioFeatures: [AudioTrackFeature.TF_NO_DTX, AudioTrackFeature.TF_ECHO_CANCELLATION] }, RED_FIRST,
    'a=fmtp:111 minptime=10;useinbandfec=1'],
  ['the deprecated disable_dtx alone (rtc-node dtx: false), RED disabled', { disableDtx: true, disableRed: true }, OPUS_FIRST,
    'a=fmtp:111 minptime=10;useinbandfec=1'],
];
for (const [name, fields, mLine, opus] of cases) {
  test(`publisher answer: ${name}`, async () => {
    const c = await publisher(server);
    await addTrack(c, fields);
    assert.deepEqual(await answerAudio(c, 1), { mLine, opus });
    // A renegotiation (the track still pending, or published) answers the same.
    assert.deepEqual(await answerAudio(c, 2), { mLine, opus });
  });
}

test('TrackInfo carries the deprecated stereo / disable_dtx flags as TF_STEREO / TF_NO_DTX too (as LiveKit)', async () => {
  const c = await publisher(server);
  const published = await addTrack(c, { stereo: true, disableDtx: true, audioFeatures: [AudioTrackFeature.TF_ECHO_CANCELLATION, AudioTrackFeature.TF_ECHO_CANCELLATION] });
  assert.deepEqual(published.track?.audioFeatures, [AudioTrackFeature.TF_ECHO_CANCELLATION, AudioTrackFeature.TF_STEREO, AudioTrackFeature.TF_NO_DTX]);
  assert.equal(published.track?.stereo, true);
});

test('an offer before its AddTrackRequest is answered plainly; the next offer carries the track settings', async () => {
  const c = await publisher(server);
  assert.deepEqual(await answerAudio(c, 1), { mLine: OPUS_FIRST, opus: 'a=fmtp:111 minptime=10;useinbandfec=1' });
  await addTrack(c, { stereo: true, disableDtx: true, disableRed: true });
  assert.deepEqual(await answerAudio(c, 2), { mLine: OPUS_FIRST, opus: 'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;maxaveragebitrate=510000' });
});

test('without audio/red in room.enabled_codecs the answer has no RED; Opus parameters still apply', async () => {
  const c = await publisher(redless);
  await addTrack(c, {});
  assert.deepEqual(await answerAudio(c, 1), { mLine: 'm=audio 9 UDP/TLS/RTP/SAVPF 111', opus: 'a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1' });
});
