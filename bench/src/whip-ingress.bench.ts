// WHIP ingress cost (docs/ingress.md): Atrium in a child process; IngressClient creates a WHIP_INPUT ingress, passed
// through (the default) and then one with enable_transcoding (LiveKit's default preset: VP8 simulcast 1280x720 /
// 640x360 / 320x180 + Opus). The WHIP sender is ours, without a browser: a bench-side ffmpeg encodes 1280x720 30 fps
// testsrc2 as VP8 in three simulcast layers (as a browser camera sends) plus an Opus tone, and our WebRTC client role
// (packages/webrtc PeerConnection, role 'client') POSTs its offer to /w/<stream key> and sends that RTP. Once the
// ingress is PUBLISHING, the CPU of the server process and of its ffmpeg children (the transcoder) is read from /proc
// over a window and printed per second of stream; the sender is not counted. `npm run bench -- whip-ingress` (about
// 60 s; `--seconds N` for each window).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngressClient } from 'livekit-server-sdk';
import { IngressInput, IngressState_Status } from '@livekit/protocol';
import type { IngressInfo } from '@livekit/protocol';
import { UdpMux } from '@atrium/webrtc';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { addFfmpegSenders } from '@atrium/server/ingress/ffmpeg-ingress.js';
import { FfmpegRtpSource } from '@atrium/server/ingress/ffmpeg-rtp-source.js';
import { formatTable, numberArgument } from './bench-util.js';
import { cpuOf, ffmpegChildrenOf, processCpuSec, startServerProcess } from './server-process.js';

const WINDOW_SEC = numberArgument('seconds', 15);
const WARMUP_SEC = 3;
/** What the sender encodes, lowest first: livekit-client's 720p camera layers. */
const SENDER_LAYERS = [{ width: 320, height: 180, kbps: 150 }, { width: 640, height: 360, kbps: 500 }, { width: 1280, height: 720, kbps: 1_700 }];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sender {
  resource: string;
  stop(): Promise<void>;
}

/** Our WHIP sender: ffmpeg (VP8 simulcast + Opus from `file`, looped) through a client-role PeerConnection. */
async function startSender(info: IngressInfo, file: string): Promise<Sender> {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const pc = new PeerConnection({ role: 'client', mux, certificate: await generateCertificate(), advertisedAddress: '127.0.0.1' });
  const onRtp = addFfmpegSenders(pc, 'bench', SENDER_LAYERS.length);
  const res = await fetch(`${info.url}/${info.streamKey}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.createOffer() });
  const answer = await res.text();
  if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${answer}`);
  pc.handleAnswer(answer);
  const source = await FfmpegRtpSource.start({
    url: file, allowLocalFiles: true, loop: true, videoLayers: SENDER_LAYERS, frameRate: 30,
    onRtp,
    onExit: (error) => {
      if (error !== undefined) console.error(`the sender's ffmpeg failed: ${error}`);
    },
  });
  const resource = new URL(res.headers.get('Location') ?? '', info.url).href;
  return {
    resource,
    stop: async () => {
      await fetch(resource, { method: 'DELETE' }).catch(() => undefined);
      source.stop();
      pc.close();
      await mux.close();
    },
  };
}

async function measure(ingresses: IngressClient, serverPid: number, info: IngressInfo, file: string): Promise<{ server: number; ffmpeg: number; processes: number; sec: number; note: string }> {
  const sender = await startSender(info, file);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [x] = await ingresses.listIngress({ ingressId: info.ingressId });
      if (x?.state?.status === IngressState_Status.ENDPOINT_PUBLISHING) break;
      if (Date.now() > deadline || x?.state?.status === IngressState_Status.ENDPOINT_ERROR) {
        throw new Error(`the ingress did not reach PUBLISHING: ${IngressState_Status[x?.state?.status ?? 0]} ${x?.state?.error}`);
      }
      await sleep(200);
    }
    await sleep(WARMUP_SEC * 1000);
    const transcoders = ffmpegChildrenOf(serverPid);
    const t0 = performance.now();
    const s0 = processCpuSec(serverPid);
    const f0 = cpuOf(transcoders);
    await sleep(WINDOW_SEC * 1000);
    const sec = (performance.now() - t0) / 1000;
    const [state] = await ingresses.listIngress({ ingressId: info.ingressId });
    const layers = state?.state?.tracks.find((t) => t.type === 1)?.layers.map((l) => `${l.width}x${l.height}`).join('/');
    return {
      server: (processCpuSec(serverPid) - s0) / sec,
      ffmpeg: (cpuOf(transcoders) - f0) / sec,
      processes: transcoders.length,
      sec,
      note: `${IngressState_Status[state?.state?.status ?? 0]}, video layers ${layers}`,
    };
  } finally {
    await sender.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-whip-bench-'));
  // The sender's input: 10 s of 1280x720 30 fps testsrc2 and a tone, looped by the sender's ffmpeg.
  const file = join(dir, 'input.mkv');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-y', file,
  ]);
  const server = await startServerProcess();
  const ingresses = new IngressClient(server.url.replace(/^ws/, 'http'), 'devkey', 'secret');
  try {
    const rows: string[][] = [['WHIP ingress', 'server CPU s/s', 'ffmpeg CPU s/s', 'total', 'state']];
    for (const transcode of [false, true]) {
      const info = await ingresses.createIngress(IngressInput.WHIP_INPUT, { roomName: `bench-whip-${transcode ? 'transcoded' : 'passthrough'}`, participantIdentity: 'whip', enableTranscoding: transcode });
      const r = await measure(ingresses, server.pid, info, file);
      rows.push([
        transcode ? 'transcoded to the default preset (3 VP8 layers, 720p top)' : 'passed through (VP8 3 layers as sent)',
        r.server.toFixed(3), `${r.ffmpeg.toFixed(3)} (${r.processes} process)`, (r.server + r.ffmpeg).toFixed(3), r.note,
      ]);
      await ingresses.deleteIngress(info.ingressId);
      await sleep(1_000);
    }
    console.log(`one WHIP ingress, the sender 1280x720 30 fps VP8 simulcast (320x180/640x360/1280x720) + Opus, ${WINDOW_SEC} s windows`);
    console.log(formatTable(rows));
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (the sender's ffmpeg and this process are not counted)`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
