// SFU forwarding micro-benchmark: one publisher -> N local subscribers through Receiver -> DownTrack
// munging, with the send sink doing nothing, real SRTP protect (GCM or CM), and optionally dgram.send.
// Run: npx tsx bench/src/forward.bench.ts [--runs 5] [--forwarded 100000] [--udp] [--subs 1,10,100] [--metrics] [--sinks none,gcm,cm] [--audio]
// --metrics: Receiver and DownTracks register with SfuStats and feed the sampled forwarding-latency histogram.
// --audio: Opus packets carrying the RFC 6464 audio-level extension, the receiver's level meter off vs on.
import dgram from 'node:dgram';
import { systemClock } from '@atrium/webrtc/clock.js';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket, writeSequenceNumber, writeTimestamp } from '@atrium/webrtc/rtp/index.js';
import { SrtpProfile, SrtpSession, type SrtpProfileId } from '@atrium/webrtc/srtp/index.js';
import { DownTrack } from '@atrium/server/sfu/down-track.js';
import { Receiver } from '@atrium/server/sfu/receiver.js';
import { SfuStats } from '@atrium/server/sfu/sfu-stats.js';
import { Histogram } from '@atrium/server/metrics/registry.js';
import { FORWARD_LATENCY_BUCKETS_NS } from '@atrium/server/metrics/server-metrics.js';
import { formatTable, median } from './bench-util.js';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const runs = argument('runs', 5);
const forwardedPerRun = argument('forwarded', 100_000);
const withUdp = process.argv.includes('--udp');
const audioOnly = process.argv.includes('--audio');
const withMetrics = process.argv.includes('--metrics');
const latency = new Histogram({ name: 'bench_forward_latency_ns', help: 'bench', buckets: FORWARD_LATENCY_BUCKETS_NS });
const stats = withMetrics ? new SfuStats({ forwardLatency: latency }) : undefined;
const subsAt = process.argv.indexOf('--subs');
const subscriberCounts = subsAt >= 0 ? (process.argv[subsAt + 1] ?? '').split(',').map(Number) : [1, 10, 100];
const PAYLOAD_BYTES = 1100; // + 12 header + 12 extensions: a typical full video packet

type SinkMode = 'none' | 'gcm' | 'cm' | 'gcm+udp';

function srtpSession(profile: SrtpProfileId, seed: number): SrtpSession {
  const saltLength = profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14;
  const bytes = (n: number, s: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + s) & 0xff));
  return new SrtpSession({
    profile,
    localMasterKey: bytes(16, seed),
    localMasterSalt: bytes(saltLength, seed + 1),
    remoteMasterKey: bytes(16, seed + 2),
    remoteMasterSalt: bytes(saltLength, seed + 3),
  });
}

/** Publisher packets: VP8, keyframe first, abs-send-time (id 2) and transport-cc (id 3) extensions. */
function publisherPackets(count: number): Buffer[] {
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);
  return Array.from({ length: count }, (_, i) => {
    const p = Buffer.from(payload);
    p[0] = 0x10;
    p[1] = i === 0 ? 0x00 : 0x01; // P bit: 0 = keyframe
    return serializeRtpPacket({
      payloadType: 96,
      sequenceNumber: i,
      timestamp: 0,
      ssrc: 0x1234abcd,
      marker: i % 5 === 4,
      extensions: [
        { id: 2, value: Uint8Array.of(1, 2, 3) },
        { id: 3, value: Uint8Array.of(0, i & 0xff) },
      ],
      payload: p,
    });
  });
}

/** Publisher packets: Opus (80-byte payload, 20 ms), audio level (id 1, -20 dBov) and abs-send-time (id 2). */
function opusPackets(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    serializeRtpPacket({
      payloadType: 111,
      sequenceNumber: i,
      timestamp: 0,
      ssrc: 0x1234abcd,
      marker: false,
      extensions: [
        { id: 1, value: Uint8Array.of(0x80 | 20) },
        { id: 2, value: Uint8Array.of(1, 2, 3) },
      ],
      payload: Buffer.alloc(80, 0x5a),
    }),
  );
}

/** Audio Receiver -> N munge-only DownTracks, with the audio-level meter reading extension 1 or not at all. */
async function measureAudio(subscribers: number, withLevel: boolean): Promise<Measurement> {
  const receiver = new Receiver({
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    ssrc: 0x1234abcd,
    sendRtcp: () => {},
    clock: systemClock,
    audioLevelExtensionId: withLevel ? 1 : 0,
  });
  const idMap = new Uint8Array(256);
  idMap[1] = 1;
  idMap[2] = 4;
  let sink = 0;
  for (let s = 0; s < subscribers; s++) {
    const send = (p: Buffer): void => {
      sink += p.length;
    };
    receiver.addDownTrack(new DownTrack({ source: receiver, ssrc: 0x10000 + s, payloadType: 111, extensionIdMap: idMap, send, clock: systemClock }));
  }
  const ring = opusPackets(1000);
  const h = createRtpHeader();
  const publisherPerRun = Math.max(200, Math.ceil(forwardedPerRun / subscribers));
  let seq = 0;
  const feed = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++, seq++) {
      const buf = ring[seq % ring.length]!;
      writeSequenceNumber(buf, seq & 0xffff);
      writeTimestamp(buf, (seq * 960) >>> 0);
      if (parseRtpHeader(buf, h)) receiver.writeRtp(buf, h);
    }
  };
  const result = await timeRuns(feed, publisherPerRun, subscribers);
  if (withLevel && (receiver.audioLevel?.packetsObserved ?? 0) === 0) throw new Error('audio level meter saw no packets');
  receiver.close();
  if (sink < 0) console.log(sink);
  return result;
}

async function mainAudio(): Promise<void> {
  const rows: string[][] = [['subscribers', 'audio level', 'wall us/pkt', 'CPU us/pkt', 'CPU ns per received packet']];
  for (const n of subscriberCounts) {
    // Alternate off/on so drift on the shared machine hits both alike.
    const off = await measureAudio(n, false);
    const on = await measureAudio(n, true);
    for (const [name, m] of [['off', off], ['on', on]] as const) {
      rows.push([String(n), name, m.usPerForwarded.toFixed(3), m.cpuUsPerForwarded.toFixed(3), (m.cpuUsPerForwarded * n * 1000).toFixed(0)]);
    }
  }
  console.log(`SFU audio forward benchmark, Node ${process.version}, Opus packets with audio level, munge only, median of ${runs} runs\n`);
  console.log(formatTable(rows));
}

interface Measurement {
  usPerForwarded: number;
  cpuUsPerForwarded: number;
}

async function measure(subscribers: number, mode: SinkMode, udp: { sock: dgram.Socket; port: number } | null): Promise<Measurement> {
  const receiver = new Receiver({
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    ssrc: 0x1234abcd,
    sendRtcp: () => {},
    clock: systemClock,
    ...(stats ? { stats } : {}),
  });
  const idMap = new Uint8Array(256);
  idMap[2] = 4;
  idMap[3] = 5;
  let sink = 0;
  for (let s = 0; s < subscribers; s++) {
    let send: (p: Buffer) => void;
    if (mode === 'none') {
      send = (p) => {
        sink += p.length;
      };
    } else {
      const session = srtpSession(mode === 'cm' ? SrtpProfile.AES128_CM_HMAC_SHA1_80 : SrtpProfile.AEAD_AES_128_GCM, s);
      if (mode === 'gcm+udp' && udp !== null) {
        const { sock, port } = udp;
        send = (p) => sock.send(session.protectRtp(p), port, '127.0.0.1');
      } else {
        send = (p) => {
          sink += session.protectRtp(p).length;
        };
      }
    }
    receiver.addDownTrack(
      new DownTrack({ source: receiver, ssrc: 0x10000 + s, payloadType: 98, extensionIdMap: idMap, send, clock: systemClock, ...(stats ? { stats } : {}) }),
    );
  }
  const ring = publisherPackets(1000);
  const h = createRtpHeader();
  const publisherPerRun = Math.max(200, Math.ceil(forwardedPerRun / subscribers));
  let seq = 0;
  const feed = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++, seq++) {
      const buf = ring[seq % ring.length]!;
      writeSequenceNumber(buf, seq & 0xffff);
      writeTimestamp(buf, Math.floor(seq / 5) * 3000);
      if (parseRtpHeader(buf, h)) receiver.writeRtp(buf, h);
      // Let queued UDP sends drain, as an event loop would between socket reads.
      if (udp !== null && (i & 63) === 63) await new Promise<void>((r) => setImmediate(r));
    }
  };
  const result = await timeRuns(feed, publisherPerRun, subscribers);
  receiver.close();
  if (sink < 0) console.log(sink);
  return result;
}

/** Warms up, then feeds `publisherPerRun` packets `runs` times: median wall and CPU us per forwarded packet. */
async function timeRuns(feed: (n: number) => Promise<void>, publisherPerRun: number, subscribers: number): Promise<Measurement> {
  await feed(Math.min(2000, publisherPerRun)); // warm-up (JIT, first keyframe)
  const times: number[] = [];
  const cpus: number[] = [];
  for (let run = 0; run < runs; run++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await feed(publisherPerRun);
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const forwarded = publisherPerRun * subscribers;
    times.push(wallUs / forwarded);
    cpus.push((cpu.user + cpu.system) / forwarded);
  }
  return { usPerForwarded: median(times), cpuUsPerForwarded: median(cpus) };
}

/** Baseline without the SFU: the same packet SRTP-protected (GCM) and sent to N sockets' worth of sessions. */
async function measureBareUdp(subscribers: number, udp: { sock: dgram.Socket; port: number }): Promise<Measurement> {
  const sessions = Array.from({ length: subscribers }, (_, s) => srtpSession(SrtpProfile.AEAD_AES_128_GCM, s));
  const packet = publisherPackets(1)[0]!;
  const publisherPerRun = Math.max(200, Math.ceil(forwardedPerRun / subscribers));
  let seq = 0;
  const feed = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++, seq++) {
      writeSequenceNumber(packet, seq & 0xffff);
      for (const session of sessions) udp.sock.send(session.protectRtp(packet), udp.port, '127.0.0.1');
      if ((i & 63) === 63) await new Promise<void>((r) => setImmediate(r));
    }
  };
  return timeRuns(feed, publisherPerRun, subscribers);
}

async function main(): Promise<void> {
  let udp: { sock: dgram.Socket; port: number; sinkSock: dgram.Socket } | null = null;
  if (withUdp) {
    // The sink socket is bound but never read: the kernel drops what overflows, the sender pays the full send.
    const sinkSock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sinkSock.bind(0, '127.0.0.1', r));
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    sock.setSendBufferSize(4 * 1024 * 1024);
    udp = { sock, port: sinkSock.address().port, sinkSock };
  }
  const sinksAt = process.argv.indexOf('--sinks');
  const modes: SinkMode[] = sinksAt >= 0 ? ((process.argv[sinksAt + 1] ?? '').split(',') as SinkMode[]) : ['none', 'gcm', 'cm'];
  if (withUdp) modes.push('gcm+udp');
  const rows: string[][] = [['subscribers', 'sink', 'wall us/pkt', 'CPU us/pkt', 'pkt/s per busy core']];
  const row = (n: number, name: string, m: Measurement): string[] => [
    String(n),
    name,
    m.usPerForwarded.toFixed(2),
    m.cpuUsPerForwarded.toFixed(2),
    Math.round(1e6 / m.cpuUsPerForwarded).toString(),
  ];
  for (const n of subscriberCounts) {
    for (const mode of modes) {
      const m = await measure(n, mode, mode === 'gcm+udp' ? udp : null);
      rows.push(row(n, mode === 'none' ? 'munge only' : `munge + ${mode}`, m));
    }
    if (udp !== null) {
      const m = await measureBareUdp(n, udp);
      rows.push(row(n, 'bare gcm+udp, no SFU', m));
    }
  }
  console.log(
    `SFU forward benchmark, Node ${process.version}, ${PAYLOAD_BYTES + 24}-byte VP8 packets, median of ${runs} runs x ~${forwardedPerRun} forwarded packets` +
      `${withMetrics ? `, metrics on (${latency.sampleCount} latency samples)` : ''}\n`,
  );
  console.log(formatTable(rows));
  console.log('\nCPU us/pkt = process user+sys time per forwarded packet (the machine is shared: trust it over wall time).');
  if (udp !== null) {
    udp.sock.close();
    udp.sinkSock.close();
  }
}

await (audioOnly ? mainAudio() : main());
