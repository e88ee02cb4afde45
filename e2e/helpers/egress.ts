// For the egress e2e tests: a page publishing its fake camera and a steady tone, waiting on an egress through
// livekit-server-sdk's EgressClient (ListEgress polled), and finding the ffmpeg process that writes a given output.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { EgressStatus } from '@livekit/protocol';
import type { EgressInfo } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { EgressClient } from 'livekit-server-sdk';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import type { BrowserParticipant } from './browser-participant.js';
import { DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './server.js';

/**
 * Connects `publisher` to `roomName` and publishes its microphone (the tone WAV the browser was launched with) and its
 * fake camera (VP8, one layer, 320x180), then waits until the server has both tracks' media (egress needs that).
 * Returns the track sids and the published video size ('WxH', as the server reports it).
 */
export async function publishToneAndCamera(server: AtriumUnderTest, publisher: BrowserParticipant, roomName: string): Promise<{ audioSid: string; videoSid: string; publishedSize: string }> {
  // No audio processing: a steady tone is exactly what noise suppression removes. 320x180: Chromium's encoder
  // scales no lower, so a busy machine cannot change the size mid-recording (at 1280x720 it did: 640x360, 960x540).
  await publisher.connect(server.url, await server.token({ identity: 'pub', room: roomName }), {
    audioCaptureDefaults: { noiseSuppression: false, echoCancellation: false, autoGainControl: false },
    videoCaptureDefaults: { resolution: { width: 320, height: 180, frameRate: 30 } },
  });
  await publisher.setMicrophoneEnabled(true);
  // One layer, so the recording has the published size throughout.
  const pubs = await publisher.setCameraEnabled(true, { simulcast: false, videoCodec: 'vp8' });
  const audioSid = pubs.find((p) => p.kind === 'audio')?.trackSid ?? '';
  const videoSid = pubs.find((p) => p.kind === 'video')?.trackSid ?? '';
  assert.ok(audioSid && videoSid, `published: ${JSON.stringify(pubs)}`);
  // StartTrackEgress needs the tracks published on the server (their media arrived).
  const rooms = new RoomServiceClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const tracks = await waitFor(async () => {
    const [p] = await rooms.listParticipants(roomName);
    const ts = p?.tracks ?? [];
    return ts.filter((t) => t.mimeType !== '').length === 2 ? ts : undefined;
  }, { timeoutMs: 15_000, label: 'both tracks published on the server' });
  const video = tracks.find((t) => t.sid === videoSid);
  return { audioSid, videoSid, publishedSize: `${video?.width}x${video?.height}` };
}

export function egressWaits(client: () => EgressClient) {
  const infoOf = async (id: string): Promise<EgressInfo> => {
    const [info] = await client().listEgress({ egressId: id });
    assert.ok(info, `egress ${id} listed`);
    return info;
  };
  /** Waits until the egress is ACTIVE; returns when that was seen (the start of its wall time). */
  const waitActive = async (id: string): Promise<number> => {
    await waitFor(async () => (await infoOf(id)).status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 15_000, intervalMs: 50, label: `${id} ACTIVE`, describe: async () => JSON.stringify((await infoOf(id)).toJson()) });
    return performance.now();
  };
  const waitEnded = (id: string, status: EgressStatus, timeoutMs = 20_000): Promise<EgressInfo> =>
    waitFor(async () => {
      const info = await infoOf(id);
      return info.status === status ? info : undefined;
    }, { timeoutMs, intervalMs: 100, label: `${id} ${EgressStatus[status]}`, describe: async () => JSON.stringify((await infoOf(id)).toJson()) });
  return { infoOf, waitActive, waitEnded };
}

/** The pid of the process whose command line has an argument containing `text` (e.g. an output path). */
export function pidWithArgument(text: string): number | undefined {
  const pid = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').some((a) => a.includes(text));
    } catch {
      return false;
    }
  });
  return pid === undefined ? undefined : Number(pid);
}
