import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtcp } from './rtcp.js';
import type { TransportWideFeedback } from './rtcp.js';
import { TwccFeedbackWriter } from './rtcp-twcc-writer.js';
import { seededRandom } from '../testing/seeded-random.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
}

function parseOne(buf: Buffer): TransportWideFeedback {
  const pkts = parseRtcp(buf);
  assert.equal(pkts.length, 1);
  assert.equal(pkts[0]!.type, 'twcc');
  return pkts[0] as TransportWideFeedback;
}

const header = { senderSsrc: 1, mediaSsrc: 2, baseSeq: 65535, referenceTime64ms: 1, fbPktCount: 255 };

test('twcc writer: golden bytes, a two-bit vector chunk as the last chunk, signed large delta, padding', () => {
  const w = new TwccFeedbackWriter();
  w.start(header);
  assert.ok(w.addReceived(0, 4));
  assert.ok(w.addReceived(2, -1));
  assert.ok(w.addReceived(0, 0));
  assert.equal(w.packetStatusCount, 5);
  assert.equal(w.sizeBytes, 28);
  // af: V=2 P=1 FMT=15 | cd: PT 205 | 6 = 28 bytes / 4 - 1; base seq 65535, 5 statuses, reference 1 (64 ms), count 255
  // chunk d090 = 11 | 01 00 00 10 01 (two-bit symbols: small, lost, lost, large, small, then unused)
  // deltas 04 | ff ff (-1 = -250 µs) | 00; two padding bytes, the last one giving the count
  assert.deepEqual(w.finish(), hex('af cd 00 06 | 00000001 | 00000002 | ffff | 0005 | 000001 | ff | d090 | 04 ffff 00 | 00 02'));
});

test('twcc writer: golden bytes, long loss runs become run-length chunks (at most 8191 each)', () => {
  const w = new TwccFeedbackWriter();
  w.start({ ...header, baseSeq: 0 });
  assert.ok(w.addReceived(0, 0));
  assert.ok(w.addReceived(20_000, 1));
  // one-bit vector a000 (small + 13 lost), runs of 8191, 8191 and 3605 lost, run of 1 small; 20002 statuses
  assert.deepEqual(w.finish(), hex('8f cd 00 07 | 00000001 | 00000002 | 0000 | 4e22 | 000001 | ff | a000 1fff 1fff 0e15 2001 | 00 01'));
});

test('twcc writer: round trip through the parser for random status sequences, exact size at every step', () => {
  const random = seededRandom(15);
  const w = new TwccFeedbackWriter({ maxSizeBytes: 1 << 16 });
  for (let round = 0; round < 300; round++) {
    const style = round % 4;
    const want: ({ deltaUs: number } | null)[] = [];
    const baseSeq = Math.floor(random() * 65536);
    w.start({ senderSsrc: round, mediaSsrc: 0xfeedbeef, baseSeq, referenceTime64ms: round * 77777, fbPktCount: round });
    const n = 1 + Math.floor(random() * 120);
    for (let i = 0; i < n; i++) {
      // Styles: mostly small deltas; mixed with large and negative; long loss runs; equal runs of each symbol.
      const missing = style === 2 && random() < 0.2 ? Math.floor(random() * 40) : style === 1 && random() < 0.3 ? 1 : 0;
      let ticks: number;
      if (style === 3) ticks = Math.floor(i / 20) % 2 === 0 ? 3 : 300;
      else if (style === 1) ticks = Math.floor(random() * 1200) - 400;
      else ticks = Math.floor(random() * 256);
      assert.ok(w.addReceived(missing, ticks));
      for (let k = 0; k < missing; k++) want.push(null);
      want.push({ deltaUs: ticks * 250 });
      const size = w.sizeBytes;
      const buf = w.finish();
      assert.equal(buf.length, size, 'sizeBytes is what finish writes');
    }
    const fb = parseOne(w.finish());
    assert.equal(fb.senderSsrc, round);
    assert.equal(fb.mediaSsrc, 0xfeedbeef);
    assert.equal(fb.baseSeq, baseSeq);
    assert.equal(fb.fbPktCount, round & 0xff);
    assert.equal(fb.referenceTimeMs, ((round * 77777) % (1 << 24)) * 64);
    assert.equal(fb.packetStatusCount, want.length);
    fb.packets.forEach((p, i) => {
      assert.equal(p.seq, (baseSeq + i) & 0xffff);
      const wi = want[i]!;
      if (wi === null) assert.equal(p.received, false, `status ${i} of round ${round}`);
      else assert.deepEqual({ received: p.received, deltaUs: p.deltaUs }, { received: true, deltaUs: wi.deltaUs }, `status ${i} of round ${round}`);
    });
  }
});

test('twcc writer: refuses (unchanged) a delta beyond 16 bits and an add past the size limit', () => {
  const w = new TwccFeedbackWriter({ maxSizeBytes: 64 });
  w.start(header);
  assert.equal(w.addReceived(0, 0x8000), false);
  assert.equal(w.addReceived(0, -0x8001), false);
  assert.equal(w.packetStatusCount, 0);
  assert.ok(w.addReceived(0, 0x7fff));
  assert.ok(w.addReceived(0, -0x8000));
  let added = 2;
  while (w.addReceived(added % 3, added % 2 === 0 ? 1 : 500)) added++;
  const count = w.packetStatusCount;
  const size = w.sizeBytes;
  assert.ok(size <= 64);
  assert.equal(w.addReceived(0, 1), false, 'still full');
  assert.equal(w.packetStatusCount, count);
  const fb = parseOne(w.finish());
  assert.equal(w.finish().length, size);
  assert.equal(fb.packets.filter((p) => p.received).length, added);
  assert.equal(fb.packets[0]!.deltaUs, 0x7fff * 250);
  assert.equal(fb.packets[1]!.deltaUs, -0x8000 * 250);
  // A huge loss run does not fit 65535 statuses.
  const big = new TwccFeedbackWriter();
  big.start(header);
  assert.ok(big.addReceived(0, 1));
  assert.equal(big.addReceived(0xffff, 1), false);
  assert.ok(big.addReceived(0xfffd, 1));
  assert.equal(parseOne(big.finish()).packetStatusCount, 0xffff);
});

test('twcc writer: finish without a status is an error', () => {
  const w = new TwccFeedbackWriter();
  w.start(header);
  assert.throws(() => w.finish(), RangeError);
});
