// CPU cost of egress (issue 12): an Atrium server in a child process, an @livekit/rtc-node publisher (a moving test
// pattern, VP8, and a sine tone), then for a fixed window each: no egress (the baseline), a track egress of the video
// copied into WebM, and a transcoded track composite of video + audio at 720p (LiveKit's default H264_720P_30 into
// HLS). CPU is the server process plus its ffmpeg children, from /proc, in CPU seconds per second of egress.
// `npm run bench -- track-egress [--seconds 10] [--width 640 --height 360]`.
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AccessToken, DirectFileOutput, EgressClient, SegmentedFileOutput } from 'livekit-server-sdk';
import { EgressStatus } from '@livekit/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { formatTable } from './bench-util.js';
import { processCpuSec, startServerProcess } from './server-process.js';

process.env['NODE_ENV'] = 'production';
const { dispose } = await import('@livekit/rtc-node');
const { connectRtcNode, publishSineTone, publishTestPattern } = await import('../../e2e/helpers/rtc-node.js');

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, width: { type: 'string', default: '640' }, height: { type: 'string', default: '360' } }, allowPositionals: true });
const seconds = Number(values.seconds);
const width = Number(values.width);
const height = Number(values.height);

/** The pids whose parent is `pid` (ffmpeg children of the server). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'atrium-egress-bench-'));
const server = await startServerProcess({ yaml: `egress:\n  file_base_dir: ${join(dir, 'rec')}\n` });
const httpUrl = server.url.replace(/^ws/, 'http');
const room = `egress-bench-${Date.now()}`;
const token = async (identity: string): Promise<string> => {
  const at = new AccessToken('devkey', 'secret', { identity });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
  return at.toJwt();
};
const rtc = await connectRtcNode(server.url, await token('pub'), { label: 'pub', autoSubscribe: false });
const maxDurationMs = (seconds * 3 + 60) * 1000;
const video = await publishTestPattern(rtc, { width, height, fps: 30, maxDurationMs });
const audio = await publishSineTone(rtc, { frequencyHz: 440, maxDurationMs });
const client = new EgressClient(httpUrl, 'devkey', 'secret');

/** CPU seconds per second of the server and its children over `seconds` (children: what they used up to the end). */
async function measure(): Promise<{ server: number; ffmpeg: number }> {
  const s0 = processCpuSec(server.pid);
  const c0 = new Map(childPids(server.pid).map((p) => [p, processCpuSec(p)]));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  let ffmpeg = 0;
  for (const p of childPids(server.pid)) {
    try {
      ffmpeg += processCpuSec(p) - (c0.get(p) ?? 0);
    } catch {
      // ended
    }
  }
  return { server: (processCpuSec(server.pid) - s0) / wall, ffmpeg: ffmpeg / wall };
}

async function egressWindow(start: () => Promise<string>): Promise<{ server: number; ffmpeg: number }> {
  const id = await start();
  await waitFor(async () => (await client.listEgress({ egressId: id }))[0]?.status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 20_000, label: 'egress ACTIVE' });
  // the encoder's start (x264 lookahead, first key frame) is not the steady state
  await new Promise((r) => setTimeout(r, 1_000));
  const m = await measure();
  await client.stopEgress(id);
  await waitFor(async () => (await client.listEgress({ egressId: id }))[0]?.status === EgressStatus.EGRESS_COMPLETE, { timeoutMs: 30_000, label: 'egress COMPLETE' });
  return m;
}

try {
  await new Promise((r) => setTimeout(r, 2_000));
  const base = await measure();
  const copy = await egressWindow(async () => (await client.startTrackEgress(room, new DirectFileOutput({ filepath: 'copy' }), video.publication.sid!)).egressId);
  const transcoded = await egressWindow(async () => (await client.startTrackCompositeEgress(room, new SegmentedFileOutput({ filenamePrefix: 'hls/bench' }), { videoTrackId: video.publication.sid!, audioTrackId: audio.publication.sid! })).egressId);
  const f = (x: number): string => x.toFixed(3);
  console.log(`publisher: ${width}x${height} VP8 at 30 fps + Opus tone (rtc-node); ${seconds} s windows; CPU s per s (1.000 = one core)`);
  console.log(formatTable([
    ['case', 'server', 'ffmpeg', 'total', 'egress cost (total - baseline)'],
    ['no egress (baseline)', f(base.server), f(base.ffmpeg), f(base.server + base.ffmpeg), '-'],
    ['track egress, VP8 copied to WebM', f(copy.server), f(copy.ffmpeg), f(copy.server + copy.ffmpeg), f(copy.server + copy.ffmpeg - base.server - base.ffmpeg)],
    ['track composite, H.264 720p30 + AAC to HLS', f(transcoded.server), f(transcoded.ffmpeg), f(transcoded.server + transcoded.ffmpeg), f(transcoded.server + transcoded.ffmpeg - base.server - base.ffmpeg)],
  ]));
} finally {
  await video.stop();
  await audio.stop();
  await rtc.disconnect();
  await dispose();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
