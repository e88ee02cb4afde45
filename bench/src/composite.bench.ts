// `npm run bench -- composite`: the CPU cost of a room composite egress (issue 12) of four participants at 720p30
// (H.264 3000 kbps + AAC, the default encoding, grid layout). Four livekit-client pages in headless Chromium each
// publish a moving 640x360 canvas (VP8) and a tone; a server in a child process (bench/src/server-process.ts) records
// them. CPU is read from /proc over a window without the egress (the SFU alone) and one with it: the server process
// (every thread: its compositor, mixer and the egress participant's WebRTC run in the main thread) and its ffmpeg
// children (one decoder per track, one encoder). Chromium's own CPU is not counted.
// Flags: --seconds 20 (each window), --participants 4.
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EgressClient, EncodedFileOutput, RoomServiceClient } from 'livekit-server-sdk';
import { EgressStatus } from '@livekit/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { hasChromium } from '@atrium/webrtc/testing/chromium.js';
import { createAccessToken, DEV_API_KEY, DEV_API_SECRET } from '../../e2e/helpers/server.js';
import { launchBrowser } from '../../e2e/helpers/browser.js';
import { formatTable, numberArgument } from './bench-util.js';
import { processCpuSec, startServerProcess } from './server-process.js';

const seconds = numberArgument('seconds', 20);
const participants = numberArgument('participants', 4);
if (!hasChromium()) {
  console.log('composite: no Chromium (npx playwright install chromium); skipped');
  process.exit(0);
}

/** CPU seconds of the server's ffmpeg children by role: the encoder reads fd 3 (pipe:3) or writes the .mp4. */
function ffmpegCpu(serverPid: number): { decoders: number; encoder: number; count: number } {
  const out = { decoders: 0, encoder: 0, count: 0 };
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== serverPid) continue; // ppid
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (!cmd[0]?.endsWith('ffmpeg')) continue;
      const cpu = processCpuSec(Number(d));
      if (cmd.includes('pipe:3') || cmd.includes('pipe:0')) out.encoder += cpu;
      else out.decoders += cpu;
      out.count++;
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'atrium-composite-bench-'));
const server = await startServerProcess({ yaml: `egress:\n  file_base_dir: ${dir}\n` });
const httpUrl = server.url.replace(/^ws/, 'http');
const browser = await launchBrowser({ livekitLogLevel: 'warn' });
console.log(`composite: load average before ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const room = `composite-bench-${Date.now()}`;
const rows: string[][] = [];
try {
  for (let i = 0; i < participants; i++) {
    const [page] = await browser.openParticipants([`p${i}`]);
    await page!.connect(server.url, await createAccessToken({ identity: `p${i}`, room }));
    // moving bars, so the frames change as a camera's do (a still canvas would make every encoder's job trivial)
    await page!.call('run', `
      const canvas = document.createElement('canvas');
      canvas.width = 640; canvas.height = 360;
      const g = canvas.getContext('2d');
      let n = 0;
      setInterval(() => {
        n++;
        for (let x = 0; x < 640; x += 40) { g.fillStyle = 'hsl(' + ((x + n * 4 + ${i * 90}) % 360) + ',70%,50%)'; g.fillRect(x, 0, 40, 360); }
        g.fillStyle = '#fff'; g.font = '48px sans-serif'; g.fillText('p${i} ' + n, 40 + (n % 400), 200);
      }, 33);
      const track = new LK.LocalVideoTrack(canvas.captureStream(30).getVideoTracks()[0], undefined, true);
      await room.localParticipant.publishTrack(track, { source: LK.Track.Source.Camera, simulcast: false, videoCodec: 'vp8' });
    `);
    await page!.call('publishTone', { leftHz: 300 + 100 * i, amplitude: 0.2 });
  }
  const rooms = new RoomServiceClient(httpUrl, DEV_API_KEY, DEV_API_SECRET);
  await waitFor(async () => (await rooms.listParticipants(room)).flatMap((p) => p.tracks).filter((t) => t.mimeType !== '').length === 2 * participants, {
    timeoutMs: 30_000, label: 'every track published',
  });
  await new Promise((r) => setTimeout(r, 3_000));

  const window = async (): Promise<{ server: number; ff: ReturnType<typeof ffmpegCpu>; wall: number }> => {
    const s0 = processCpuSec(server.pid);
    const f0 = ffmpegCpu(server.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const f1 = ffmpegCpu(server.pid);
    return { server: processCpuSec(server.pid) - s0, ff: { decoders: f1.decoders - f0.decoders, encoder: f1.encoder - f0.encoder, count: f1.count }, wall: (performance.now() - t0) / 1000 };
  };
  const base = await window();
  const client = new EgressClient(httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const info = await client.startRoomCompositeEgress(room, new EncodedFileOutput({ filepath: 'bench' }), { layout: 'grid' });
  await waitFor(async () => (await client.listEgress({ egressId: info.egressId }))[0]?.status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 20_000, label: 'ACTIVE' });
  // the decoders start at the first key frame of each track
  await new Promise((r) => setTimeout(r, 3_000));
  const rec = await window();
  await client.stopEgress(info.egressId);
  const done = await waitFor(async () => {
    const [e] = await client.listEgress({ egressId: info.egressId });
    return e && e.status >= EgressStatus.EGRESS_COMPLETE ? e : undefined;
  }, { timeoutMs: 30_000, label: 'ended' });
  /** CPU seconds per second of wall time, as a share of one core. */
  const share = (cpuSec: number, wall: number): number => (cpuSec / wall) * 100;
  const pct = (v: number): string => `${v.toFixed(1)}%`;
  const sfu = share(base.server, base.wall);
  const withServer = share(rec.server, rec.wall);
  const decoders = share(rec.ff.decoders, rec.wall);
  const encoder = share(rec.ff.encoder, rec.wall);
  rows.push(['', 'server process', 'ffmpeg decoders', 'ffmpeg encoder', 'total']);
  rows.push(['SFU alone', pct(sfu), '-', '-', pct(sfu)]);
  rows.push([`with the composite (${rec.ff.count} ffmpegs)`, pct(withServer), pct(decoders), pct(encoder), pct(withServer + decoders + encoder)]);
  rows.push(["the composite's cost", pct(withServer - sfu), pct(decoders), pct(encoder), pct(withServer - sfu + decoders + encoder)]);
  console.log(`composite: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ` +
    `${participants} participants (640x360 VP8 canvas + tone each) -> room composite grid 1280x720 30 fps H.264 3000 kbps + AAC; windows of ${seconds} s`);
  console.log('CPU as a share of one core (100% = one core busy):\n');
  console.log(formatTable(rows));
  console.log(`\nfile: ${done.fileResults[0]?.filename} ${done.fileResults[0]?.size} bytes, ${Number(done.fileResults[0]?.duration ?? 0n) / 1e9} s; status ${EgressStatus[done.status]} ${done.error}`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
