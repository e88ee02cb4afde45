// SRTP/SRTCP micro-benchmark: microseconds per packet for protect/unprotect, AES-CM+HMAC-SHA1-80 and AES-128-GCM.
// `--impl js,native` (default: both when the native module is available) measures the TypeScript path and the
// native module (both profiles) in the same run, so the two can be compared as a ratio.
// Run: npx tsx bench/src/srtp.bench.ts [--runs 7] [--packets 20000] [--impl js,native]
import {
  SrtpProfile, SrtpSession, setSrtpImplementation, srtpExporterLength, srtpImplementation, srtpKeysFromExporter, type SrtpProfileId,
} from '@atrium/webrtc/srtp/index.js';
import { loadNativeSrtp } from '@atrium/webrtc/srtp/native-srtp.js';
import { formatTable, medianTiming, timePerCall, type Timing, numberArgument, stringArgument } from './bench-util.js';

const runs = numberArgument('runs', 7);
const packetsPerRun = numberArgument('packets', 20000);
const payloadSizes = [100, 1200];
const profiles: Array<[string, SrtpProfileId]> = [
  ['AES_CM_128_HMAC_SHA1_80', SrtpProfile.AES128_CM_HMAC_SHA1_80],
  ['AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM],
];

function sessions(profile: SrtpProfileId): { sender: SrtpSession; receiver: SrtpSession } {
  const material = Buffer.alloc(srtpExporterLength(profile));
  for (let i = 0; i < material.length; i++) material[i] = (i * 31 + 7) & 0xff;
  return {
    sender: new SrtpSession(srtpKeysFromExporter(profile, material, true)),
    receiver: new SrtpSession(srtpKeysFromExporter(profile, material, false)),
  };
}

function rtpPacket(payloadLength: number): Buffer {
  const packet = Buffer.alloc(12 + payloadLength, 0xab);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt32BE(0x12345678, 8);
  return packet;
}

function rtcpPacket(): Buffer {
  const packet = Buffer.alloc(32, 0xcd); // receiver report with one block
  packet.writeUInt32BE(0x81c90007, 0);
  packet.writeUInt32BE(0x12345678, 4);
  return packet;
}

interface Row {
  protect: Timing;
  unprotect: Timing;
  sink: number;
}

function measureRtp(profile: SrtpProfileId, payloadLength: number): Row {
  const { sender, receiver } = sessions(profile);
  const plain = rtpPacket(payloadLength);
  let seq = 0;
  let sink = 0;
  const nextProtected = (): Buffer => {
    plain.writeUInt16BE(seq & 0xffff, 2);
    seq++;
    return sender.protectRtp(plain);
  };
  // Warm-up: JIT, OpenSSL tables, and the receiver's per-SSRC state.
  for (let i = 0; i < 5000; i++) sink += receiver.unprotectRtp(nextProtected())?.length ?? 0;
  const protectTimes: Timing[] = [];
  const unprotectTimes: Timing[] = [];
  for (let run = 0; run < runs; run++) {
    protectTimes.push(timePerCall(packetsPerRun, () => {
      sink += nextProtected().length;
    }));
    const batch = Array.from({ length: packetsPerRun }, nextProtected);
    unprotectTimes.push(timePerCall(packetsPerRun, (i) => {
      const out = receiver.unprotectRtp(batch[i] as Buffer);
      if (out === null) throw new Error('unprotect failed in benchmark');
      sink += out.length;
    }));
  }
  return { protect: medianTiming(protectTimes), unprotect: medianTiming(unprotectTimes), sink };
}

function measureRtcp(profile: SrtpProfileId): Row {
  const { sender, receiver } = sessions(profile);
  const plain = rtcpPacket();
  let sink = 0;
  for (let i = 0; i < 2000; i++) sink += receiver.unprotectRtcp(sender.protectRtcp(plain))?.length ?? 0;
  const protectTimes: Timing[] = [];
  const unprotectTimes: Timing[] = [];
  for (let run = 0; run < runs; run++) {
    protectTimes.push(timePerCall(packetsPerRun, () => {
      sink += sender.protectRtcp(plain).length;
    }));
    const batch = Array.from({ length: packetsPerRun }, () => sender.protectRtcp(plain));
    unprotectTimes.push(timePerCall(packetsPerRun, (i) => {
      const out = receiver.unprotectRtcp(batch[i] as Buffer);
      if (out === null) throw new Error('unprotectRtcp failed in benchmark');
      sink += out.length;
    }));
  }
  return { protect: medianTiming(protectTimes), unprotect: medianTiming(unprotectTimes), sink };
}

const impls = stringArgument('impl', loadNativeSrtp().native !== null ? 'js,native' : 'js').split(',') as Array<'js' | 'native'>;
const rows: string[][] = [
  ['impl', 'profile', 'packet', 'protect us/pkt', 'protect cpu us', 'unprotect us/pkt', 'unprotect cpu us', 'protect+unprotect pkt/s (cpu)'],
];
const row = (impl: string, name: string, packet: string, r: Row): string[] => [
  impl,
  name,
  packet,
  r.protect.wallUs.toFixed(2),
  r.protect.cpuUs.toFixed(2),
  r.unprotect.wallUs.toFixed(2),
  r.unprotect.cpuUs.toFixed(2),
  Math.round(1e6 / (r.protect.cpuUs + r.unprotect.cpuUs)).toString(),
];
let total = 0;
for (const [name, profile] of profiles) {
  for (const impl of impls) {
    setSrtpImplementation(impl);
    for (const payloadLength of payloadSizes) {
      const r = measureRtp(profile, payloadLength);
      total += r.sink;
      rows.push(row(impl, name, `RTP ${payloadLength} B payload`, r));
    }
    const r = measureRtcp(profile);
    total += r.sink;
    rows.push(row(impl, name, 'RTCP RR 32 B', r));
  }
}

console.log(`SRTP micro-benchmark, Node ${process.version}, median of ${runs} runs x ${packetsPerRun} packets (after warm-up)`);
console.log(`native module: ${loadNativeSrtp().reason}`);
console.log('us/pkt = wall clock; cpu us = process user+sys time (includes GC threads), steadier on a shared machine\n');
console.log(formatTable(rows));
if (total < 0) console.log(total); // keep results observable
