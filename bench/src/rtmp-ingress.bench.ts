// RTMP ingress cost (docs/ingress.md): Atrium in a child process with RTMP on a free port; IngressClient creates an
// RTMP_INPUT ingress with LiveKit's default preset (VP8 simulcast 1280x720 / 640x360 / 320x180 + Opus); Debian's
// ffmpeg pushes 1280x720 testsrc2 at 30 fps (libx264) and a sine (AAC) in real time. Once PUBLISHING, the CPU of the
// server process and of its ffmpeg children (the transcoder) is read from /proc over a window and printed per second
// of stream. The pushing ffmpeg (the "OBS") is measured apart and not counted. `npm run bench -- rtmp-ingress`
// (about 30 s; `--seconds N` for the window).
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { IngressClient } from 'livekit-server-sdk';
import { IngressInput, IngressState_Status } from '@livekit/protocol';
import { formatTable, numberArgument } from './bench-util.js';
import { cpuOf, ffmpegChildrenOf, freePort, processCpuSec, startServerProcess } from './server-process.js';

const WINDOW_SEC = numberArgument('seconds', 15);
const WARMUP_SEC = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const rtmpPort = await freePort();
  const server = await startServerProcess({ yaml: `ingress:\n  rtmp_port: ${rtmpPort}\n` });
  const httpUrl = server.url.replace(/^ws/, 'http');
  const ingresses = new IngressClient(httpUrl, 'devkey', 'secret');
  const info = await ingresses.createIngress(IngressInput.RTMP_INPUT, { roomName: 'bench-rtmp', participantIdentity: 'obs' });
  const pusher = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '60', '-b:v', '2500k',
    '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', `${info.url}/${info.streamKey}`,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [x] = await ingresses.listIngress({ ingressId: info.ingressId });
      if (x?.state?.status === IngressState_Status.ENDPOINT_PUBLISHING) break;
      if (Date.now() > deadline) throw new Error(`the ingress did not reach PUBLISHING: ${x?.state?.status} ${x?.state?.error}`);
      await sleep(200);
    }
    await sleep(WARMUP_SEC * 1000);
    const transcoders = ffmpegChildrenOf(server.pid);
    const t0 = performance.now();
    const s0 = processCpuSec(server.pid);
    const f0 = cpuOf(transcoders);
    const p0 = cpuOf([pusher.pid!]);
    await sleep(WINDOW_SEC * 1000);
    const sec = (performance.now() - t0) / 1000;
    const s = (processCpuSec(server.pid) - s0) / sec;
    const f = (cpuOf(transcoders) - f0) / sec;
    const p = (cpuOf([pusher.pid!]) - p0) / sec;
    const [state] = await ingresses.listIngress({ ingressId: info.ingressId });
    console.log(`one RTMP ingress, 1280x720 30 fps H.264 + AAC in, default preset out (VP8 320x180/640x360/1280x720 + Opus), ${sec.toFixed(1)} s window`);
    console.log(formatTable([
      ['what', 'CPU s per s of stream'],
      ['Atrium server process (RTMP, FLV, RTP in, SFU)', s.toFixed(3)],
      [`ffmpeg transcoder (${transcoders.length} process)`, f.toFixed(3)],
      ['total (server + ffmpeg)', (s + f).toFixed(3)],
      ['(not counted) the pushing ffmpeg, libx264 ultrafast', p.toFixed(3)],
    ]));
    console.log(`state at the end: ${IngressState_Status[state?.state?.status ?? 0]}, input ${state?.state?.video?.mimeType} ${state?.state?.video?.width}x${state?.state?.video?.height}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    pusher.kill('SIGKILL');
    await server.stop();
  }
}

await main();
