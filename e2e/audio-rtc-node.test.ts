// Compatibility: audio with unmodified @livekit/rtc-node 1.1 through Atrium, heard by rtc-node (AudioStream, Goertzel
// scan) and by livekit-client in Chromium (WebAudio analysis per channel). rtc-node publishes RED with DTX by default
// (its native WebRTC offers red/48000/2; the answer puts it first): a page gets RED and an rtc-node listener decodes
// it; with dtx/red off the track is plain Opus. Stereo: rtc-node 1.1 has no way to ask for it (its AddTrackRequest
// carries neither `stereo` nor TF_STEREO, and its own answers never say stereo=1), so, as with LiveKit, a 2-channel
// AudioSource arrives downmixed to one channel, and a stereo track from a browser reaches an rtc-node AudioStream as
// mono, while a browser listener gets the same track with its channels apart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Room } from '@livekit/rtc-node';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { BrowserParticipant } from './helpers/browser-participant.js';
import { waitForAudioChannels } from './helpers/audio-channels.js';
import type { AudioChannels } from './helpers/audio-channels.js';
import {
  connectRtcNode, publishSineTone, readAudioWindow, readStereoWindow, teardownRtcNode, waitForRemoteTrack, type RunningPublisher,
} from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { dominantFrequency, goertzelPower } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;
const MEDIA_TIMEOUT_MS = 20_000;

let server: AtriumUnderTest | undefined;
let browser: BrowserHarness | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const pages: BrowserParticipant[] = [];
const logLines: string[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
  browser = await withTimeout(launchBrowser(), 30_000, 'Chromium to launch');
});
after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [
      { what: 'closing pages', work: () => Promise.all(pages.map((p) => p.close())) },
      { what: 'closing Chromium', work: () => browser?.close() ?? Promise.resolve(), timeoutMs: 15_000 },
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
    ],
  }),
);

async function rtcNode(srv: AtriumUnderTest, identity: string, roomName: string): Promise<Room> {
  const room = await connectRtcNode(srv.url, await srv.token({ identity, room: roomName }), { label: identity, eventLog: logLines });
  rooms.push(room);
  return room;
}

async function page(srv: AtriumUnderTest, identity: string, roomName: string): Promise<BrowserParticipant> {
  assert.ok(browser);
  const p = await browser.openParticipant(identity);
  pages.push(p);
  await p.connect(srv.url, await srv.token({ identity, room: roomName }), {}, 35_000);
  return p;
}


async function waitForChannels(run: StepRunner, listener: BrowserParticipant, trackSid: string, probeHz: number[], ok: (a: AudioChannels) => boolean): Promise<AudioChannels> {
  const result = await waitForAudioChannels(listener, trackSid, probeHz, ok, { label: `[${listener.label}] analysis of ${trackSid}`, timeoutMs: MEDIA_TIMEOUT_MS });
  run.note(`[${listener.label}] ${trackSid}: ${JSON.stringify(result.channels)}`);
  return result;
}

/** TrackInfo of `identity`'s published track `sid`, once the server has it published. */
function trackInfo(srv: AtriumUnderTest, roomName: string, identity: string, sid: string) {
  return waitFor(() => srv.server.rooms.getRoom(roomName)?.getParticipantByIdentity(identity)?.snapshot().tracks.find((t) => t.sid === sid), {
    label: `${identity}'s ${sid} published`, timeoutMs: MEDIA_TIMEOUT_MS,
  });
}

/** After 150 packets: bytes and repeated (RED) frames per packet at the page. */
async function pageReception(run: StepRunner, listener: BrowserParticipant, trackSid: string, isRed: boolean): Promise<void> {
  const row = await listener.waitForStats(
    (rows) => rows.find((r) => r.trackSid === trackSid),
    (r) => r.subscribed && r.packetsReceived > 150 && (!isRed || (r.packetsDiscarded ?? 0) > 0.8 * r.packetsReceived),
    { label: `${trackSid} received ${isRed ? 'as RED' : ''}`, timeoutMs: MEDIA_TIMEOUT_MS },
  );
  const discarded = (row.packetsDiscarded ?? 0) / row.packetsReceived;
  run.note(`[${listener.label}] ${trackSid}: ${row.packetsReceived} packets, ${Math.round(row.bytesReceived / row.packetsReceived)} B/packet, ${discarded.toFixed(2)} repeated frames/packet`);
  if (!isRed) assert.ok(discarded < 0.05, `plain Opus: ${discarded}`);
}

test('rtc-node publishes RED with DTX by default; a page and an rtc-node listener hear it; dtx/red off gives plain Opus', { timeout: 150_000 }, async (t) => {
  assert.ok(server && browser);
  const srv = server;
  const run = createStepRunner({ scenario: 'audio-rtc-node.test.ts (RED)', logs: () => [...logLines, ...(browser?.logs() ?? [])] });
  const roomName = `audio-rtc-node-${Date.now()}`;
  try {
    const viewer = await run.step('a livekit-client page joins', () => page(srv, 'viewer', roomName));
    const listener = await run.step('Yan (rtc-node) joins to listen', () => rtcNode(srv, 'yan', roomName));
    const xena = await run.step('Xena (rtc-node) publishes a 440 Hz tone with default options', async () => {
      const room = await rtcNode(srv, 'xena', roomName);
      const p = await publishSineTone(room, { frequencyHz: 440, maxDurationMs: 90_000 });
      publishers.push(p);
      return p;
    });
    const zoe = await run.step('Zoe (rtc-node) publishes a 660 Hz tone with dtx: false, red: false', async () => {
      const room = await rtcNode(srv, 'zoe', roomName);
      const p = await publishSineTone(room, { frequencyHz: 660, maxDurationMs: 90_000, dtx: false, red: false });
      publishers.push(p);
      return p;
    });
    await run.step("the server's TrackInfo: Xena's track is audio/red with DTX, Zoe's audio/opus with DTX and RED disabled", async () => {
      const x = await trackInfo(srv, roomName, 'xena', xena.publication.sid ?? '');
      const z = await trackInfo(srv, roomName, 'zoe', zoe.publication.sid ?? '');
      run.note(`xena: ${x.mimeType}, disableDtx ${x.disableDtx}, disableRed ${x.disableRed}, stereo ${x.stereo}, features [${x.audioFeatures.join(',')}]`);
      run.note(`zoe: ${z.mimeType}, disableDtx ${z.disableDtx}, disableRed ${z.disableRed}`);
      assert.deepEqual([x.mimeType, x.disableDtx, x.disableRed], ['audio/red', false, false]);
      assert.deepEqual([z.mimeType, z.disableDtx, z.disableRed], ['audio/opus', true, true]);
    });
    await run.step('the page gets Xena as RED and Zoe as Opus, and hears 440 Hz and 660 Hz', async () => {
      await pageReception(run, viewer, xena.publication.sid ?? '', true);
      await pageReception(run, viewer, zoe.publication.sid ?? '', false);
      await waitForChannels(run, viewer, xena.publication.sid ?? '', [440], (a) => Math.abs(a.channels[0]!.peakHz - 440) <= 12 && a.channels[0]!.peakDb > -45);
      await waitForChannels(run, viewer, zoe.publication.sid ?? '', [660], (a) => Math.abs(a.channels[0]!.peakHz - 660) <= 12 && a.channels[0]!.peakDb > -45);
    });
    await run.step('Yan (rtc-node) hears 440 Hz from the RED track and 660 Hz from the Opus one', async () => {
      for (const [identity, hz] of [['xena', 440], ['zoe', 660]] as const) {
        const remote = await waitForRemoteTrack(listener, { kind: 'audio', identity, label: `[yan] ${identity}'s audio`, timeoutMs: 15_000 });
        const received = await readAudioWindow(remote.track, { sampleRate: SAMPLE_RATE, windowSamples: SAMPLE_RATE, timeoutMs: 15_000 });
        const tone = dominantFrequency(received.samples, { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2000 });
        run.note(`[yan] ${identity}: ${tone.frequencyHz} Hz, peak/mean ${tone.peakToMean.toFixed(0)}`);
        assert.ok(Math.abs(tone.frequencyHz - hz) <= 5, `${identity}: ${tone.frequencyHz} Hz`);
        assert.ok(tone.peakToMean > 20);
      }
    });
  } finally {
    t.diagnostic(`steps:\n${run.history()}`);
  }
});

test('stereo with rtc-node 1.1: a 2-channel source arrives downmixed, a stereo browser track is decoded as mono (no way to ask for stereo)', { timeout: 150_000 }, async (t) => {
  assert.ok(server && browser);
  const srv = server;
  const run = createStepRunner({ scenario: 'audio-rtc-node.test.ts (stereo)', logs: () => [...logLines, ...(browser?.logs() ?? [])] });
  const roomName = `audio-rtc-node-stereo-${Date.now()}`;
  try {
    const viewer = await run.step('a livekit-client page joins', () => page(srv, 'stereo-viewer', roomName));
    const uma = await run.step('Uma (rtc-node) publishes a 2-channel AudioSource: 440 Hz left, 1000 Hz right', async () => {
      const room = await rtcNode(srv, 'uma', roomName);
      const p = await publishSineTone(room, { frequencyHz: 440, rightFrequencyHz: 1000, maxDurationMs: 90_000 });
      publishers.push(p);
      return p;
    });
    await run.step("Uma's AddTrackRequest asked for no stereo: TrackInfo stereo false, no TF_STEREO", async () => {
      const info = await trackInfo(srv, roomName, 'uma', uma.publication.sid ?? '');
      run.note(`uma: ${info.mimeType}, stereo ${info.stereo}, features [${info.audioFeatures.join(',')}]`);
      assert.equal(info.stereo, false);
      assert.ok(!info.audioFeatures.includes(0));
    });
    await run.step('the page hears both tones on both channels at about the same level (rtc-node encoded one channel)', async () => {
      const a = await waitForChannels(run, viewer, uma.publication.sid ?? '', [440, 1000], (x) => x.channels.every((c) => (c.levels['440'] ?? -200) > -50 && (c.levels['1000'] ?? -200) > -50));
      for (const c of a.channels) assert.ok(Math.abs((c.levels['440'] ?? 0) - (c.levels['1000'] ?? 0)) < 6, `a downmix: ${JSON.stringify(c.levels)}`);
    });

    const tone = await run.step('the page publishes a stereo tone (440 Hz left, 1000 Hz right; forceStereo, dtx and red off)', () =>
      viewer.call<{ trackSid: string }>('publishTone', { leftHz: 440, rightHz: 1000, name: 'music', options: { forceStereo: true, dtx: false, red: false } }));
    const other = await run.step('a second page joins and hears the two channels apart (the server offers stereo)', async () => {
      const p = await page(srv, 'stereo-listener', roomName);
      await waitForChannels(run, p, tone.trackSid, [440, 1000], (x) =>
        Math.abs(x.channels[0]!.peakHz - 440) <= 12 && Math.abs(x.channels[1]!.peakHz - 1000) <= 12
        && (x.channels[0]!.levels['440'] ?? -200) - (x.channels[0]!.levels['1000'] ?? 0) > 20);
      return p;
    });
    void other;
    await run.step('Vic (rtc-node) reads the stereo track through a 2-channel AudioStream: both channels the same mix', async () => {
      const vic = await rtcNode(srv, 'vic', roomName);
      const remote = await waitForRemoteTrack(vic, { kind: 'audio', identity: 'stereo-viewer', label: "[vic] the page's music", timeoutMs: 15_000 });
      const { left, right } = await readStereoWindow(remote.track, { sampleRate: SAMPLE_RATE, windowSamples: SAMPLE_RATE, skipSamples: SAMPLE_RATE, timeoutMs: 15_000 });
      const db = (x: number): number => Math.round(10 * Math.log10(x + 1e-20) * 10) / 10;
      const powers = { left440: db(goertzelPower(left, SAMPLE_RATE, 440)), left1000: db(goertzelPower(left, SAMPLE_RATE, 1000)), right440: db(goertzelPower(right, SAMPLE_RATE, 440)), right1000: db(goertzelPower(right, SAMPLE_RATE, 1000)) };
      run.note(`[vic] Goertzel power (dB): ${JSON.stringify(powers)}`);
      assert.ok(Math.abs(powers.left440 - powers.left1000) < 6, 'both tones on the left');
      assert.ok(Math.abs(powers.left440 - powers.right440) < 1 && Math.abs(powers.left1000 - powers.right1000) < 1, 'left and right the same');
    });
  } finally {
    t.diagnostic(`steps:\n${run.history()}`);
  }
});
