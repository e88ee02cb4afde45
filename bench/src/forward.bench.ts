// SFU forwarding micro-benchmark: one publisher -> N local subscribers through Receiver -> DownTrack
// munging, with the send sink doing nothing, real SRTP protect (GCM or CM), and optionally dgram.send.
// Run: npx tsx bench/src/forward.bench.ts [--runs 5] [--forwarded 100000] [--udp] [--subs 1,10,100] [--metrics] [--sinks none,gcm,cm] [--audio] [--simulcast]
// --metrics: Receiver and DownTracks register with SfuStats and feed the sampled forwarding-latency histogram.
// --audio: Opus packets carrying the RFC 6464 audio-level extension, the receiver's level meter off vs on.
// --simulcast: three simulcast streams (q, h, f) into one receiver, subscribers spread over the three layers.
// The packets are Chromium's VP8 (payload descriptor with a 15-bit picture id, TL0PICIDX and TID, three temporal layers).
// The file runs unchanged against older trees (it feature-tests the receiver API), so old and new code can be compared
// in one sitting: copy it into the other tree's bench/src and run it there.
import dgram from 'node:dgram';
import { systemClock } from '@atrium/webrtc/clock.js';
import { SeqUnwrapper, createRtpHeader, parseRtpHeader, serializeRtpPacket, writeSequenceNumber, writeTimestamp } from '@atrium/webrtc/rtp/index.js';
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { SrtpProfile, SrtpSession, type SrtpProfileId } from '@atrium/webrtc/srtp/index.js';
import { DownTrack } from '@atrium/server/sfu/down-track.js';
import { Receiver } from '@atrium/server/sfu/receiver.js';
import { SfuStats } from '@atrium/server/sfu/sfu-stats.js';
import { Histogram } from '@atrium/server/metrics/registry.js';
import { FORWARD_LATENCY_BUCKETS_NS } from '@atrium/server/metrics/server-metrics.js';
import { formatTable, median, numberArgument } from './bench-util.js';

const runs = numberArgument('runs', 5);
const forwardedPerRun = numberArgument('forwarded', 100_000);
const withUdp = process.argv.includes('--udp');
const audioOnly = process.argv.includes('--audio');
const withMetrics = process.argv.includes('--metrics');
const latency = new Histogram({ name: 'bench_forward_latency_ns', help: 'bench', buckets: FORWARD_LATENCY_BUCKETS_NS });
const stats = withMetrics ? new SfuStats({ forwardLatency: latency }) : undefined;
const subsAt = process.argv.indexOf('--subs');
const subscriberCounts = subsAt >= 0 ? (process.argv[subsAt + 1] ?? '').split(',').map(Number) : [1, 10, 100];
const PAYLOAD_BYTES = 1100; // + 12 header + 12 extensions: a typical full video packet
const simulcast = process.argv.includes('--simulcast');
/** Packets the down tracks actually handed to their sinks: per-packet figures divide by this, not by what was fed. */
let sentPackets = 0;

/** The receiver API of this tree or of older ones (addDownTrack, writeRtp without transport metadata). */
type AnyReceiver = Receiver & { addDownTrack?: (d: DownTrack) => void; addSender?: (d: DownTrack) => void };
function attach(receiver: Receiver, down: DownTrack): void {
  const r = receiver as AnyReceiver;
  if (typeof r.addSender === 'function') r.addSender(down);
  else r.addDownTrack!(down);
}
/** Newer trees take the transport's per-packet metadata (extended seq, arrival time); older ones ignore it. */
function makeWriter(receiver: Receiver): (buf: Buffer, h: RtpHeader) => void {
  const unwrappers = new Map<number, SeqUnwrapper>();
  const meta = { extSeq: 0, arrivalMs: 0 };
  return (buf, h) => {
    let u = unwrappers.get(h.ssrc);
    if (u === undefined) unwrappers.set(h.ssrc, (u = new SeqUnwrapper()));
    meta.extSeq = u.unwrap(h.sequenceNumber);
    meta.arrivalMs = systemClock.nowMs();
    (receiver.writeRtp as (b: Buffer, hh: RtpHeader, m: typeof meta) => void)(buf, h, meta);
  };
}
/** Newer DownTracks take a target layer; older ones forward the receiver's choice. */
function target(down: DownTrack, spatial: number): void {
  const d = down as DownTrack & { setTargetLayers?: (s: number, t: number) => void };
  d.setTargetLayers?.(spatial, 2);
}

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

/**
 * Publisher packets: Chromium's VP8 (5 packets a frame; descriptor X, I with a 15-bit picture id, L, T: TID 0,2,1,2),
 * key frame first, abs-send-time (id 2) and transport-cc (id 3) extensions.
 */
function publisherPackets(count: number, ssrc = 0x1234abcd): Buffer[] {
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);
  const tids = [0, 2, 1, 2];
  return Array.from({ length: count }, (_, i) => {
    const frame = Math.floor(i / 5);
    const isFirst = i % 5 === 0;
    const tid = tids[frame % 4]!;
    const p = Buffer.from(payload);
    p[0] = isFirst ? 0x90 : 0x80; // X, S on the first packet of a frame
    p[1] = 0xe0; // I, L, T
    p[2] = 0x80 | ((frame >> 8) & 0x7f); // M + picture id
    p[3] = frame & 0xff;
    p[4] = Math.floor(frame / 4) & 0xff; // TL0PICIDX
    p[5] = (tid << 6) | (tid > 0 ? 0x20 : 0); // TID, Y
    p[6] = i === 0 ? 0x00 : 0x01; // frame tag: P bit 0 = key frame
    return serializeRtpPacket({
      payloadType: 96,
      sequenceNumber: i,
      timestamp: 0,
      ssrc,
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
      sentPackets++;
      sink += p.length;
    };
    attach(receiver, new DownTrack({ source: receiver, ssrc: 0x10000 + s, payloadType: 111, extensionIdMap: idMap, send, clock: systemClock }));
  }
  const ring = opusPackets(1000);
  const h = createRtpHeader();
  const write = makeWriter(receiver);
  const publisherPerRun = Math.max(200, Math.ceil(forwardedPerRun / subscribers));
  let seq = 0;
  const feed = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++, seq++) {
      const buf = ring[seq % ring.length]!;
      writeSequenceNumber(buf, seq & 0xffff);
      writeTimestamp(buf, (seq * 960) >>> 0);
      if (parseRtpHeader(buf, h)) write(buf, h);
    }
  };
  const result = await timeRuns(feed, publisherPerRun, subscribers);
  if (withLevel && (receiver.audioLevel?.packetsObserved ?? 0) === 0) throw new Error('audio level meter saw no packets');
  receiver.close();
  if (sink < 0) console.log(sink);
  return result;
}

async function mainAudio(): Promise<void> {
  const rows: string[][] = [['subscribers', 'audio level', 'wall us/pkt', 'CPU us/pkt', 'CPU ns per received packet', 'sent']];
  for (const n of subscriberCounts) {
    // Alternate off/on so drift on the shared machine hits both alike.
    const off = await measureAudio(n, false);
    const on = await measureAudio(n, true);
    for (const [name, m] of [['off', off], ['on', on]] as const) {
      rows.push([
        String(n), name, m.usPerForwarded.toFixed(3), m.cpuUsPerForwarded.toFixed(3), (m.cpuUsPerForwarded * n * 1000).toFixed(0),
        `${(m.sentShare * 100).toFixed(0)}%`,
      ]);
    }
  }
  console.log(`SFU audio forward benchmark, Node ${process.version}, Opus packets with audio level, munge only, median of ${runs} runs\n`);
  console.log(formatTable(rows));
}

interface Measurement {
  usPerForwarded: number;
  cpuUsPerForwarded: number;
  /** Packets sent / packets expected (subscribers' share of what was fed). */
  sentShare: number;
}

async function measure(subscribers: number, mode: SinkMode, udp: { sock: dgram.Socket; port: number } | null): Promise<Measurement> {
  const layerCount = simulcast ? 3 : 1;
  const ssrcs = Array.from({ length: layerCount }, (_, i) => 0x1234abcd + i);
  const receiver = new Receiver({
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    ssrc: ssrcs[0]!,
    sendRtcp: () => {},
    clock: systemClock,
    ...(stats ? { stats } : {}),
  });
  for (let i = 1; i < layerCount; i++) {
    (receiver.addStream as (o: { ssrc: number; spatial: number; rank: number }) => number)({ ssrc: ssrcs[i]!, spatial: i, rank: i + 1 });
  }
  const idMap = new Uint8Array(256);
  idMap[2] = 4;
  idMap[3] = 5;
  let sink = 0;
  for (let s = 0; s < subscribers; s++) {
    let send: (p: Buffer) => void;
    if (mode === 'none') {
      send = (p) => {
        sentPackets++;
        sink += p.length;
      };
    } else {
      const session = srtpSession(mode === 'cm' ? SrtpProfile.AES128_CM_HMAC_SHA1_80 : SrtpProfile.AEAD_AES_128_GCM, s);
      if (mode === 'gcm+udp' && udp !== null) {
        const { sock, port } = udp;
        send = (p) => {
          sentPackets++;
          sock.send(session.protectRtp(p), port, '127.0.0.1');
        };
      } else {
        send = (p) => {
          sentPackets++;
          sink += session.protectRtp(p).length;
        };
      }
    }
    const down = new DownTrack({ source: receiver, ssrc: 0x10000 + s, payloadType: 98, extensionIdMap: idMap, send, clock: systemClock, ...(stats ? { stats } : {}) });
    target(down, s % layerCount);
    attach(receiver, down);
  }
  const rings = ssrcs.map((ssrc) => publisherPackets(1000, ssrc));
  const h = createRtpHeader();
  const write = makeWriter(receiver);
  // Every subscriber forwards one layer: per packet fed, subscribers / layers packets go out (on average).
  const forwardedPerFed = subscribers / layerCount;
  const publisherPerRun = Math.max(200 * layerCount, Math.ceil(forwardedPerRun / forwardedPerFed));
  let seq = 0;
  let fed = 0;
  const feed = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++, fed++) {
      const layer = fed % layerCount;
      if (layer === 0 && fed > 0) seq++;
      const buf = rings[layer]![seq % 1000]!;
      writeSequenceNumber(buf, seq & 0xffff);
      writeTimestamp(buf, Math.floor(seq / 5) * 3000);
      if (!parseRtpHeader(buf, h)) continue;
      // Picture ids and TL0PICIDX keep counting across turns of the ring, as a live encoder's do.
      const frame = Math.floor(seq / 5);
      const d = h.payloadOffset;
      buf[d + 2] = 0x80 | ((frame >> 8) & 0x7f);
      buf[d + 3] = frame & 0xff;
      buf[d + 4] = Math.floor(frame / 4) & 0xff;
      write(buf, h);
      // Let queued UDP sends drain, as an event loop would between socket reads.
      if (udp !== null && (i & 63) === 63) await new Promise<void>((r) => setImmediate(r));
    }
  };
  const result = await timeRuns(feed, publisherPerRun, forwardedPerFed);
  receiver.close();
  if (sink < 0) console.log(sink);
  return result;
}

/**
 * Warms up, then feeds `publisherPerRun` packets `runs` times: median wall and CPU us per packet actually sent, and the
 * share of the expected packets (`forwardedPerFed` per packet fed) that went out (below 100%: the SFU dropped some).
 */
async function timeRuns(feed: (n: number) => Promise<void>, publisherPerRun: number, forwardedPerFed: number): Promise<Measurement> {
  await feed(Math.min(2000, publisherPerRun)); // warm-up (JIT, first keyframe)
  const times: number[] = [];
  const cpus: number[] = [];
  const shares: number[] = [];
  for (let run = 0; run < runs; run++) {
    const sent0 = sentPackets;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await feed(publisherPerRun);
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const forwarded = Math.max(1, sentPackets - sent0);
    shares.push(forwarded / (publisherPerRun * forwardedPerFed));
    times.push(wallUs / forwarded);
    cpus.push((cpu.user + cpu.system) / forwarded);
  }
  return { usPerForwarded: median(times), cpuUsPerForwarded: median(cpus), sentShare: median(shares) };
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
      for (const session of sessions) {
        sentPackets++;
        udp.sock.send(session.protectRtp(packet), udp.port, '127.0.0.1');
      }
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
  const rows: string[][] = [['subscribers', 'sink', 'wall us/pkt', 'CPU us/pkt', 'pkt/s per busy core', 'sent']];
  const row = (n: number, name: string, m: Measurement): string[] => [
    String(n),
    name,
    m.usPerForwarded.toFixed(2),
    m.cpuUsPerForwarded.toFixed(2),
    Math.round(1e6 / m.cpuUsPerForwarded).toString(),
    `${(m.sentShare * 100).toFixed(0)}%`,
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
    `SFU forward benchmark, Node ${process.version}, ${PAYLOAD_BYTES + 24}-byte VP8 packets${simulcast ? ', 3 simulcast layers, subscribers spread over them' : ''}, median of ${runs} runs x ~${forwardedPerRun} forwarded packets` +
      `${withMetrics ? `, metrics on (${latency.sampleCount} latency samples)` : ''}\n`,
  );
  console.log(formatTable(rows));
  console.log('\nCPU us/pkt = process user+sys time per packet sent (the machine is shared: trust it over wall time).');
  console.log('sent = packets the down tracks sent / packets expected (every subscriber gets every packet of its layer).');
  if (udp !== null) {
    udp.sock.close();
    udp.sinkSock.close();
  }
}

await (audioOnly ? mainAudio() : main());
