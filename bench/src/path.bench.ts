// Whole media path through the SFU: a publisher client sends SRTP video over loopback UDP to an SFU process
// (receive, SRTP unprotect, demux, Receiver, DownTrack rewrite, SRTP protect, send) that forwards it to N
// subscriber clients. Prints the SFU process's CPU microseconds per forwarded packet and the loss.
// `--cc on|off|both` (default both): congestion control on the subscriber transports (TWCC sequence numbers stamped on
// every packet, the clients' feedback into the send-side estimator, the pacer at the estimate) or not.
// `--payload-bytes N` (default 1100): the RTP payload size; 100 is an Opus packet's (audio-sized datagrams: the
// per-datagram costs without the bytes).
// `--pin`: the SFU process on CPU 1 and this one (publisher and subscribers) on CPU 0 (taskset), so that the SFU's
// figures at saturation are one core's.
// Run: npx tsx bench/src/path.bench.ts [--subs 1,10,50] [--rate 2000] [--seconds 4] [--cc both] [--payload-bytes 1100] [--pin] [--profile DIR]
import { fork, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UdpMux, defaultCapabilities, serializeRtpPacket } from '@atrium/webrtc';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import { HeaderExtensionUri } from '@atrium/webrtc/sdp/capabilities.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { formatTable, request, stringArgument } from './bench-util.js';

const subscriberCounts = stringArgument('subs', '1,10,50').split(',').map(Number);
const ratePps = Number(stringArgument('rate', '2000'));
const seconds = Number(stringArgument('seconds', '4'));
const PAYLOAD_BYTES = Number(stringArgument('payload-bytes', '1100'));
if (!(PAYLOAD_BYTES >= 8 && PAYLOAD_BYTES <= 1200)) throw new RangeError('--payload-bytes: 8 to 1200');
const pin = process.argv.includes('--pin');
if (pin) {
  const r = spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`--pin: taskset failed: ${r.stderr || r.error}`);
}
const ccModes = { on: [true], off: [false], both: [false, true] }[stringArgument('cc', 'both')] ?? [false, true];


/** Waits for connections and warm-up: 10 s at most, polled every 20 ms. */
const polling = { timeoutMs: 10_000, intervalMs: 20 } as const;

async function runOnce(subscribers: number, cc: boolean): Promise<string[]> {
  // --profile DIR: the SFU process writes a CPU profile there (open it in Chrome DevTools or any .cpuprofile viewer).
  const profileDir = stringArgument('profile', '');
  const profiling = profileDir === '' ? [] : ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', profileDir];
  const sfu = fileURLToPath(new URL('./path-sfu.ts', import.meta.url));
  // Pinned: `taskset -c 1 node ... path-sfu.ts` (the IPC channel passes through taskset's exec).
  const child = pin
    ? fork(sfu, [], { execPath: 'taskset', execArgv: ['-c', '1', process.execPath, ...profiling, '--import', 'tsx'] })
    : fork(sfu, { execArgv: [...profiling, '--import', 'tsx'] });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  const muxes: UdpMux[] = [];
  const pcs: PeerConnection[] = [];
  const certificate = await generateCertificate();
  const client = async (): Promise<PeerConnection> => {
    const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recvBufferBytes: 8 << 20 });
    muxes.push(mux);
    const pc = new PeerConnection({ role: 'client', mux, certificate, advertisedAddress: '127.0.0.1' });
    pcs.push(pc);
    return pc;
  };
  try {
    const vp8 = defaultCapabilities.video.find((c) => c.mimeType === 'video/VP8')!;
    const publisher = await client();
    const sender = publisher.addSender({ kind: 'video', streamId: 's', trackId: 'v', codec: vp8 });
    const { answer } = await request(child, { op: 'publish', offer: publisher.createOffer() }, 'answer');
    publisher.handleAnswer(answer as string);
    await waitFor(() => publisher.connectionState === 'connected', { ...polling, label: 'publisher connected' });

    const { offers } = await request(child, { op: 'subscribe', count: subscribers, cc }, 'offers');
    let received = 0;
    const answers: string[] = [];
    for (const offer of offers as string[]) {
      const pc = await client();
      pc.on('remoteStream', (s) => {
        s.onRtp = () => received++;
      });
      answers.push(pc.handleOffer(offer));
    }
    await waitFor(() => pcs.every((pc) => pc.connectionState === 'connected'), { ...polling, label: 'subscribers connected' });
    // First packet is a VP8 key frame start so every DownTrack begins forwarding.
    const payload = Buffer.alloc(PAYLOAD_BYTES, 0x42);
    payload[0] = 0x10;
    payload[1] = 0x00;
    let seq = 0;
    let ts = 0;
    // With congestion control the publisher stamps transport-wide sequence numbers, as Chromium does on video.
    const twccId = cc ? sender.extensionId(HeaderExtensionUri.transportCc) : 0;
    const extensions = twccId > 0 ? [{ id: twccId, value: new Uint8Array(2) }] : [];
    const sendOne = (): void => {
      sender.sendRtp(serializeRtpPacket({ payloadType: sender.payloadType, sequenceNumber: seq++ & 0xffff, timestamp: ts, ssrc: sender.ssrc, payload, extensions }));
      ts = (ts + 3000) >>> 0;
      payload[1] = 0x01; // later packets are not key frames
    };
    await request(child, { op: 'answers', answers }, 'subscribed');
    await waitFor(async () => ((await request(child, { op: 'stats' }, 'stats')).connected as boolean), { ...polling, label: 'sfu connected' });
    for (let i = 0; i < 20; i++) sendOne();
    await waitFor(() => received >= 20 * subscribers, { ...polling, label: 'warm-up forwarded' });

    const before = await request(child, { op: 'stats' }, 'stats');
    const receivedBefore = received;
    const startMs = performance.now();
    let sent = 0;
    const total = Math.round(ratePps * seconds);
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.round(((performance.now() - startMs) / 1000) * ratePps));
        while (sent < due) {
          sendOne();
          sent++;
        }
        if (sent >= total) resolve();
        else setTimeout(tick, 5);
      };
      tick();
    });
    await new Promise((r) => setTimeout(r, 300));
    const after = await request(child, { op: 'stats' }, 'stats');
    const forwarded = (after.packetsOut as number) - (before.packetsOut as number);
    const cpuUs = (after.cpuUs as number) - (before.cpuUs as number);
    const got = received - receivedBefore;
    const expected = sent * subscribers;
    return [
      String(subscribers),
      cc ? `on (${after.feedbacks as number} fb, ${Math.round((after.estimateBps as number) / 1000)} kbps)` : 'off',
      String(sent),
      String(forwarded),
      (cpuUs / Math.max(1, forwarded)).toFixed(2),
      String(Math.round(forwarded / seconds)),
      ((100 * (expected - got)) / Math.max(1, expected)).toFixed(2),
    ];
  } finally {
    for (const pc of pcs) pc.close();
    for (const m of muxes) await m.close();
    child.send({ op: 'exit' });
    await new Promise((r) => child.once('exit', r));
  }
}

const rows = [['subscribers', 'congestion control', 'sent', 'forwarded', 'SFU CPU us/fwd pkt', 'fwd pkt/s', 'loss %']];
for (const n of subscriberCounts) for (const cc of ccModes) rows.push(await runOnce(n, cc));
console.log(`Whole path, ${PAYLOAD_BYTES}-byte VP8 payloads at ${ratePps} pkt/s in for ${seconds} s (SFU CPU = user+sys of its process)\n`);
console.log(formatTable(rows));
