// Camera monitoring agent, an unmodified @livekit/agents 1.9 worker registered as `camera-monitor` (explicit
// dispatch only): it subscribes to every camera track in the room, samples a few decoded frames per second,
// shrinks each frame's luma (Y) plane to a 32x24 grid of block means and compares it with the previous sample.
// When the mean absolute difference (0..255) reaches the threshold it sends a reliable data message on topic
// `alerts`:
//   {"type": "motion", "identity": "...", "trackSid": "TR_...", "score": 23.4, "threshold": 6, "at": <epoch ms>,
//    "width": 320, "height": 240}
// and then stays quiet for that track for the cooldown. A change of frame size resets the comparison, so a
// simulcast layer switch is not an alert.
//
// Settings come from the dispatch metadata (JSON, every field optional):
//   {"threshold": 6, "cooldownMs": 2000, "sampleHz": 5}
//
//   LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret node camera-monitor-agent.mjs dev
//
// then dispatch it into a room, e.g. with livekit-server-sdk:
//   new AgentDispatchClient(url, key, secret).createDispatch('my-room', 'camera-monitor', { metadata: '{"threshold":6}' })
import { fileURLToPath } from 'node:url';
import { AutoSubscribe, cli, defineAgent, WorkerOptions } from '@livekit/agents';
import { RoomEvent, TrackKind, TrackSource, VideoBufferType, VideoStream } from '@livekit/rtc-node';

export const AGENT_NAME = 'camera-monitor';
export const DATA_TOPIC = 'alerts';
const GRID_W = 32;
const GRID_H = 24;
const DEFAULTS = { threshold: 6, cooldownMs: 2_000, sampleHz: 5 };

/** Reads the settings from the dispatch metadata, keeping the defaults for anything missing or invalid. */
export function settingsFrom(metadata) {
  let parsed = {};
  try {
    parsed = metadata ? JSON.parse(metadata) : {};
  } catch {
    console.warn(`camera-monitor-agent: dispatch metadata is not JSON, using defaults: ${metadata}`);
  }
  const pick = (key) => (typeof parsed[key] === 'number' && parsed[key] > 0 ? parsed[key] : DEFAULTS[key]);
  return { threshold: pick('threshold'), cooldownMs: pick('cooldownMs'), sampleHz: pick('sampleHz') };
}

/** Block means of the luma plane (`width` x `height`, packed rows) on a GRID_W x GRID_H grid. */
export function lumaGrid(luma, width, height) {
  const grid = new Float32Array(GRID_W * GRID_H);
  for (let gy = 0; gy < GRID_H; gy++) {
    const y0 = Math.floor((gy * height) / GRID_H);
    const y1 = Math.max(y0 + 1, Math.floor(((gy + 1) * height) / GRID_H));
    for (let gx = 0; gx < GRID_W; gx++) {
      const x0 = Math.floor((gx * width) / GRID_W);
      const x1 = Math.max(x0 + 1, Math.floor(((gx + 1) * width) / GRID_W));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        const row = y * width;
        for (let x = x0; x < x1; x++) sum += luma[row + x];
      }
      grid[gy * GRID_W + gx] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return grid;
}

/** Mean absolute difference of two grids (0..255). */
export function meanAbsoluteDifference(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

export default defineAgent({
  entry: async (ctx) => {
    const settings = settingsFrom(ctx.job.metadata);
    await ctx.connect(undefined, AutoSubscribe.VIDEO_ONLY);
    const room = ctx.room;
    const local = room.localParticipant;
    console.log(`camera-monitor-agent: joined room ${room.name} as ${local?.identity}, settings ${JSON.stringify(settings)}`);

    const watched = new Set();
    const watch = async (track, publication, participant) => {
      if (track.kind !== TrackKind.KIND_VIDEO || publication.source !== TrackSource.SOURCE_CAMERA) return;
      if (watched.has(track.sid)) return;
      watched.add(track.sid);
      console.log(`camera-monitor-agent: watching ${participant.identity}'s camera ${track.sid}`);
      const intervalMs = 1000 / settings.sampleHz;
      let previous;
      let previousSize = '';
      let nextSampleAt = 0;
      let quietUntil = 0;
      try {
        for await (const { frame } of new VideoStream(track)) {
          const now = Date.now();
          if (now < nextSampleAt) continue;
          nextSampleAt = now + intervalMs;
          const i420 = frame.type === VideoBufferType.I420 ? frame : frame.convert(VideoBufferType.I420);
          // An I420 frame from rtc-node is packed: the luma plane is the first width*height bytes.
          const luma = i420.data.subarray(0, i420.width * i420.height);
          const grid = lumaGrid(luma, i420.width, i420.height);
          const size = `${i420.width}x${i420.height}`;
          if (previous && size === previousSize) {
            const score = meanAbsoluteDifference(grid, previous);
            if (score >= settings.threshold && now >= quietUntil) {
              quietUntil = now + settings.cooldownMs;
              const alert = {
                type: 'motion',
                identity: participant.identity,
                trackSid: track.sid,
                score: Number(score.toFixed(2)),
                threshold: settings.threshold,
                at: now,
                width: i420.width,
                height: i420.height,
              };
              console.log(`camera-monitor-agent: motion on ${participant.identity}'s ${track.sid}, score ${alert.score}`);
              await local.publishData(new TextEncoder().encode(JSON.stringify(alert)), { reliable: true, topic: DATA_TOPIC });
            }
          }
          previous = grid;
          previousSize = size;
        }
      } finally {
        watched.delete(track.sid);
      }
    };

    room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
      watch(track, publication, participant).catch((err) => console.error('camera-monitor-agent: watching failed', err));
    });
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        if (publication.track) {
          watch(publication.track, publication, participant).catch((err) => console.error('camera-monitor-agent: watching failed', err));
        }
      }
    }
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli.runApp(new WorkerOptions({ agent: fileURLToPath(import.meta.url), agentName: AGENT_NAME }));
}
