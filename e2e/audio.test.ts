// Compatibility: audio as unmodified livekit-client 2.23 pages hear it through Atrium. Tones are made in the page with
// WebAudio and analysed in the listener's page with WebAudio, split into channels. Stereo: a 440 Hz left / 1000 Hz
// right track (forceStereo, musicHighQualityStereo) arrives with each channel carrying its own tone; the publisher's
// answer asks for stereo=1;maxaveragebitrate=510000, and usedtx=1 for the microphone. RED: the microphone reaches a
// listener as RED (inbound codec audio/red) and one whose Chromium refuses RED as Opus, both hearing it, and it is the
// active speaker. A publisher without RED reaches everyone as Opus, unless audio.active_red_encoding is on: then the
// RED listener gets it RED-encoded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { BrowserParticipant } from './helpers/browser-participant.js';
import { waitForAudioChannels } from './helpers/audio-channels.js';
import type { AudioChannels } from './helpers/audio-channels.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { boundedClose } from './helpers/suite.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const CONNECT_TIMEOUT_MS = 35_000;
const MEDIA_TIMEOUT_MS = 20_000;
/** Bins are 48000 / 8192 = 5.9 Hz wide: a peak within two bins is the tone. */
const HZ_TOLERANCE = 12;

let server: AtriumUnderTest | undefined;
/** The same server with `audio.active_red_encoding: true`. */
let redServer: AtriumUnderTest | undefined;
let browser: BrowserHarness | undefined;
before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
  redServer = await withTimeout(startAtrium({ config: { audio: { activeRedEncoding: true } } }), 15_000, 'Atrium (active RED) to start');
  browser = await withTimeout(launchBrowser(), 30_000, 'Chromium to launch');
});
after(async () => {
  await boundedClose('closing Chromium', () => browser?.close() ?? Promise.resolve(), 15_000);
  await boundedClose('closing Atrium', () => server?.close() ?? Promise.resolve(), 10_000);
  await boundedClose('closing Atrium (active RED)', () => redServer?.close() ?? Promise.resolve(), 10_000);
});

interface PublishedTone { trackSid: string; cid: string; channelCount: number | undefined }

async function join(srv: AtriumUnderTest, label: string, roomName: string, prepare?: (p: BrowserParticipant) => Promise<void>): Promise<BrowserParticipant> {
  assert.ok(browser, 'Chromium launched');
  const p = await browser.openParticipant(label);
  pages.push(p);
  await prepare?.(p);
  await p.connect(srv.url, await srv.token({ identity: label, room: roomName }), {}, CONNECT_TIMEOUT_MS);
  return p;
}
const pages: BrowserParticipant[] = [];
async function closePages(): Promise<void> {
  await Promise.all(pages.splice(0).map((p) => p.disconnect().catch(() => undefined).then(() => p.close())));
}

/** The m-line blocks (m= up to the next m=) of an SDP. */
function blocksOf(sdp: string): string[] {
  return sdp.split(/\r\n(?=m=)/).slice(1);
}

/**
 * The answer's m-line for the publisher's track `cid` (matched through the offer: its msid names the cid, and the
 * answer's m-line has the same mid), once the answer covers it; undefined before.
 */
function answerBlockFor(sdp: { offer: string | undefined; answer: string | undefined }, cid: string): string | undefined {
  const offered = blocksOf(sdp.offer ?? '').find((b) => new RegExp(`\\r\\na=msid:\\S+ ${cid}\\r\\n`).test(`\r\n${b}\r\n`));
  const mid = offered ? /\r\na=mid:(\S+)/.exec(offered)?.[1] : undefined;
  if (mid === undefined) return undefined;
  return blocksOf(sdp.answer ?? '').find((b) => b.includes(`\r\na=mid:${mid}\r\n`) || b.endsWith(`\r\na=mid:${mid}`));
}

/** Waits until Atrium's answer to `publisher` covers each of `cids`; returns their answer m-lines in that order. */
async function answerBlocks(publisher: BrowserParticipant, cids: string[]): Promise<string[]> {
  let last: unknown;
  return waitFor(async () => {
    const sdp = await publisher.call<{ offer: string | undefined; answer: string | undefined }>('publisherSdp');
    last = sdp;
    const blocks = cids.map((cid) => answerBlockFor(sdp, cid));
    return blocks.every((b) => b !== undefined) ? (blocks as string[]) : undefined;
  }, { label: `[${publisher.label}] an answer covering ${cids.join(', ')}`, timeoutMs: MEDIA_TIMEOUT_MS, describe: () => `last: ${JSON.stringify(last)}` });
}
/** `a=fmtp:111 a=1;b=2` -> {a: '1', b: '2'}. */
function fmtpParams(line: string): Map<string, string> {
  const params = line.slice(line.indexOf(' ') + 1).split(';');
  return new Map(params.map((p) => [p.split('=')[0] ?? '', p.split('=')[1] ?? ''] as [string, string]));
}

function lineOf(block: string, prefix: string): string {
  return block.split('\r\n').find((l) => l.startsWith(prefix)) ?? `(no ${prefix} line)`;
}

/** Waits until the listener's WebAudio analysis of `trackSid` satisfies `ok`; notes what it saw. */
async function waitForChannels(
  run: StepRunner, listener: BrowserParticipant, trackSid: string, probeHz: number[], label: string,
  ok: (a: AudioChannels) => boolean,
): Promise<AudioChannels> {
  const result = await waitForAudioChannels(listener, trackSid, probeHz, ok, { label: `[${listener.label}] ${label}`, timeoutMs: MEDIA_TIMEOUT_MS });
  run.note(`[${listener.label}] ${label}: ${JSON.stringify(result.channels)}`);
  return result;
}

const near = (hz: number, want: number): boolean => Math.abs(hz - want) <= HZ_TOLERANCE;

/**
 * How the listener receives `trackSid`: its answer's m= line (RED first means it takes RED) and, after 150 packets,
 * its inbound-rtp. Chromium 156 reports a RED stream's codec as audio/opus (the codec it decodes), so RED shows as
 * `packetsDiscarded`: every RED packet repeats frames the jitter buffer already has (Chromium's RED one, Atrium's
 * encoder two), and as bytes per packet.
 */
async function reception(run: StepRunner, listener: BrowserParticipant, trackSid: string, expect: 'red' | 'opus'): Promise<{ bytesPerPacket: number; discardedPerPacket: number }> {
  const answer = await waitFor(() => listener.call<string[] | undefined>('subscriberAnswerFor', trackSid), {
    label: `[${listener.label}] its answer for ${trackSid}`, timeoutMs: MEDIA_TIMEOUT_MS,
  });
  const row = await listener.waitForStats(
    (rows) => rows.find((r) => r.trackSid === trackSid),
    (r) => r.subscribed && r.packetsReceived > 150 && (expect === 'opus' || (r.packetsDiscarded ?? 0) > 0.8 * r.packetsReceived),
    { label: `${trackSid} received as ${expect}`, timeoutMs: MEDIA_TIMEOUT_MS },
  );
  const bytesPerPacket = Math.round(row.bytesReceived / row.packetsReceived);
  const discardedPerPacket = Math.round(((row.packetsDiscarded ?? 0) / row.packetsReceived) * 100) / 100;
  run.note(`[${listener.label}] ${trackSid}: answer ${answer[0] ?? ''}; ${row.packetsReceived} packets, ${bytesPerPacket} B/packet, ` +
    `${discardedPerPacket} discarded/packet, stats codec ${String(row.codec)}, audioLevel ${String(row.audioLevel)}`);
  assert.match(answer[0] ?? '', expect === 'red' ? / 63 111$/ : / 111$/, `${listener.label} answered ${expect === 'red' ? 'RED first' : 'Opus only'}`);
  if (expect === 'opus') assert.ok(discardedPerPacket < 0.05, `plain Opus: nothing repeated (${discardedPerPacket} discarded per packet)`);
  return { bytesPerPacket, discardedPerPacket };
}

test('stereo arrives as stereo, the answer asks for DTX and stereo; RED reaches RED and non-RED listeners, both hear it', { timeout: 180_000 }, async (t) => {
  assert.ok(server && browser);
  const srv = server;
  const harness = browser;
  const run = createStepRunner({ scenario: 'audio.test.ts (stereo, DTX, RED)', logs: () => harness.logs() });
  const roomName = `audio-${Date.now()}`;
  try {
    const alice = await run.step('Alice connects', () => join(srv, 'alice', roomName));
    const bob = await run.step('Bob connects', () => join(srv, 'bob', roomName));
    const carol = await run.step("Carol connects; her Chromium refuses RED in offers", () =>
      join(srv, 'carol', roomName, (p) => p.call('refuseCodecs', ['red'])));

    const music = await run.step('Alice publishes a stereo tone (440 Hz left, 1000 Hz right; forceStereo, musicHighQualityStereo, dtx and red off)', async () => {
      // livekit-client's own stereo defaults (dtx and red off) never apply: the Room's publishDefaults (dtx: true,
      // red: true) are merged in first. An app publishing music passes them itself.
      const r = await alice.call<PublishedTone>('publishTone', {
        leftHz: 440, rightHz: 1000, name: 'music',
        options: { forceStereo: true, audioPreset: 'musicHighQualityStereo', dtx: false, red: false, source: 'unknown' },
      });
      run.note(`music ${r.trackSid}, capture channelCount ${String(r.channelCount)}`);
      return r;
    });
    const voice = await run.step('Alice publishes a one-channel 660 Hz tone as her microphone (default options: DTX and RED on)', () =>
      alice.call<PublishedTone>('publishTone', { leftHz: 660, name: 'voice', options: { forceStereo: false } }));

    await run.step("Alice's publisher answer (Chromium's remoteDescription): stereo=1 and maxaveragebitrate=510000 without DTX and Opus first for the music, usedtx=1 and RED first for the voice", async () => {
      const [m, v] = (await answerBlocks(alice, [music.cid, voice.cid])) as [string, string];
      const infos = await waitFor(() => {
        const tracks = srv.server.rooms.getRoom(roomName)?.getParticipantByIdentity('alice')?.snapshot().tracks ?? [];
        const both = [music.trackSid, voice.trackSid].map((sid) => tracks.find((x) => x.sid === sid));
        return both.every((x) => x !== undefined) ? both : undefined;
      }, { label: 'both tracks published on the server', timeoutMs: MEDIA_TIMEOUT_MS });
      for (const info of infos) {
        run.note(`TrackInfo ${String(info?.name)}: ${String(info?.mimeType)}, stereo ${String(info?.stereo)}, disableDtx ${String(info?.disableDtx)}, disableRed ${String(info?.disableRed)}, audioFeatures [${String(info?.audioFeatures)}]`);
      }
      // livekit-client adds TF_STEREO whenever the capture reports more than one channel; the answer follows it.
      const isVoiceStereo = infos[1]?.audioFeatures.includes(0) === true;
      run.note(`music: ${lineOf(m, 'm=audio')} | ${lineOf(m, 'a=fmtp:111')}`);
      run.note(`voice: ${lineOf(v, 'm=audio')} | ${lineOf(v, 'a=fmtp:111')}`);
      // Chromium hands the description back re-serialised (parameters sorted, the m= port its own): compare sets.
      const musicParams = fmtpParams(lineOf(m, 'a=fmtp:111'));
      assert.equal(musicParams.get('stereo'), '1');
      assert.equal(musicParams.get('maxaveragebitrate'), '510000');
      assert.equal(musicParams.get('usedtx'), undefined, 'dtx: false');
      assert.match(lineOf(m, 'm=audio'), / 111 63$/, 'red: false: Opus first');
      assert.equal(fmtpParams(lineOf(v, 'a=fmtp:111')).get('usedtx'), '1');
      assert.equal(fmtpParams(lineOf(v, 'a=fmtp:111')).get('stereo'), isVoiceStereo ? '1' : undefined);
      assert.match(lineOf(v, 'm=audio'), / 63 111$/, 'RED first: Chromium sends RED');
    });

    await run.step('Bob and Carol get the music as Opus; the voice as RED (Bob) and as Opus (Carol, half the bytes)', async () => {
      await reception(run, bob, music.trackSid, 'opus');
      await reception(run, carol, music.trackSid, 'opus');
      const red = await reception(run, bob, voice.trackSid, 'red');
      const opus = await reception(run, carol, voice.trackSid, 'opus');
      assert.ok(red.bytesPerPacket > 1.6 * opus.bytesPerPacket, `RED carries the previous frame too: ${red.bytesPerPacket} vs ${opus.bytesPerPacket} B/packet`);
      // livekit-client answers stereo=1 where our offer said sprop-stereo=1: that is what makes Chromium decode stereo.
      const answer = (await bob.call<string[] | undefined>('subscriberAnswerFor', music.trackSid)) ?? [];
      run.note(`Bob's answer for the music: ${answer.join(' | ')}`);
      assert.ok(answer.some((l) => l.startsWith('a=fmtp:111 ') && fmtpParams(l).get('stereo') === '1'), 'stereo=1 for the music');
    });

    for (const listener of [bob, carol]) {
      await run.step(`${listener.label} hears 440 Hz on the left and 1000 Hz on the right of the music`, async () => {
        const a = await waitForChannels(run, listener, music.trackSid, [440, 1000], 'music channels', (x) =>
          x.channels.length === 2 && near(x.channels[0]!.peakHz, 440) && near(x.channels[1]!.peakHz, 1000)
          && (x.channels[0]!.levels['440'] ?? -Infinity) - (x.channels[0]!.levels['1000'] ?? 0) > 20
          && (x.channels[1]!.levels['1000'] ?? -Infinity) - (x.channels[1]!.levels['440'] ?? 0) > 20);
        assert.ok(a.channels[0]!.peakDb > -40, `a loud left channel: ${a.channels[0]!.peakDb} dB`);
      });
      await run.step(`${listener.label} hears the 660 Hz voice`, async () => {
        const a = await waitForChannels(run, listener, voice.trackSid, [660], 'voice', (x) => near(x.channels[0]!.peakHz, 660) && x.channels[0]!.peakDb > -40);
        assert.ok(a.channels[0]!.peakDb > -40);
      });
    }

    await run.step("Bob sees Alice as the active speaker (her RED microphone's audio level)", () =>
      bob.waitForEvent((e) => e.type === 'activeSpeakersChanged' && Array.isArray(e['speakers']) && (e['speakers'] as string[]).includes('alice'), {
        label: 'alice speaking', timeoutMs: MEDIA_TIMEOUT_MS,
      }));
  } finally {
    t.diagnostic(`steps:\n${run.history()}`);
    await closePages();
  }
});

test('a publisher without RED reaches listeners as Opus; with audio.active_red_encoding a RED listener gets it RED-encoded', { timeout: 180_000 }, async (t) => {
  assert.ok(server && redServer && browser);
  const harness = browser;
  const run = createStepRunner({ scenario: 'audio.test.ts (active RED encoding)', logs: () => harness.logs() });
  try {
    for (const [srv, isActive] of [[server, false], [redServer, true]] as const) {
      const roomName = `audio-red-${isActive ? 'on' : 'off'}-${Date.now()}`;
      const tag = isActive ? 'on' : 'off';
      const dave = await run.step(`[active RED ${tag}] Dave connects; his Chromium offers no RED for what he sends`, () =>
        join(srv, `dave-${tag}`, roomName, (p) => p.call('withoutSendCodecs', ['red'])));
      const erin = await run.step(`[active RED ${tag}] Erin connects`, () => join(srv, `erin-${tag}`, roomName));
      const frank = await run.step(`[active RED ${tag}] Frank connects; his Chromium refuses RED`, () =>
        join(srv, `frank-${tag}`, roomName, (p) => p.call('refuseCodecs', ['red'])));
      const tone = await run.step(`[active RED ${tag}] Dave publishes a 550 Hz microphone tone`, () =>
        dave.call<PublishedTone>('publishTone', { leftHz: 550, name: 'mic' }));
      await run.step(`[active RED ${tag}] Dave's offer had no RED, so he sends plain Opus`, async () => {
        const [block] = (await answerBlocks(dave, [tone.cid])) as [string];
        run.note(`Dave's answer: ${lineOf(block, 'm=audio')} | ${lineOf(block, 'a=fmtp:111')}`);
        assert.match(lineOf(block, 'm=audio'), / 111$/);
      });
      await run.step(`[active RED ${tag}] Erin gets ${isActive ? 'RED (two earlier frames per packet)' : 'Opus'}, Frank Opus; both hear 550 Hz`, async () => {
        const e = await reception(run, erin, tone.trackSid, isActive ? 'red' : 'opus');
        const f = await reception(run, frank, tone.trackSid, 'opus');
        if (isActive) {
          assert.ok(e.discardedPerPacket > 1.6, `two repeated frames per packet: ${e.discardedPerPacket}`);
          assert.ok(e.bytesPerPacket > 2.4 * f.bytesPerPacket, `${e.bytesPerPacket} vs ${f.bytesPerPacket} B/packet`);
        }
        for (const listener of [erin, frank]) {
          await waitForChannels(run, listener, tone.trackSid, [550], 'tone', (x) => near(x.channels[0]!.peakHz, 550) && x.channels[0]!.peakDb > -40);
        }
      });
      await closePages();
    }
  } finally {
    t.diagnostic(`steps:\n${run.history()}`);
    await closePages();
  }
});
