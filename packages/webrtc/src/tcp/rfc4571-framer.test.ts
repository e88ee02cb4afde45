// RFC 4571 framing: golden bytes, frames split at every byte, coalesced frames, empty frames, oversize prefixes,
// random garbage (never a throw, never more than one frame buffered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rfc4571Deframer, frameRfc4571 } from './rfc4571-framer.js';

function collect(d: Rfc4571Deframer, chunks: Buffer[]): { frames: Buffer[]; ok: boolean } {
  const frames: Buffer[] = [];
  let ok = true;
  for (const c of chunks) {
    const r = d.push(c, (f) => frames.push(Buffer.from(f)));
    if (!r.ok) ok = false;
  }
  return { frames, ok };
}

test('frameRfc4571: a 16-bit big-endian length before the packet', () => {
  assert.deepEqual(frameRfc4571(Buffer.from([0xaa, 0xbb, 0xcc])), Buffer.from([0x00, 0x03, 0xaa, 0xbb, 0xcc]));
  assert.deepEqual(frameRfc4571(Buffer.alloc(0)), Buffer.from([0, 0]));
  const big = frameRfc4571(Buffer.alloc(0x1234, 7));
  assert.equal(big.readUInt16BE(0), 0x1234);
  assert.equal(big.length, 0x1236);
  assert.throws(() => frameRfc4571(Buffer.alloc(65536)), RangeError);
});

test('coalesced frames in one chunk come out in order', () => {
  const packets = [Buffer.from([0, 1, 2]), Buffer.from([128, 9]), Buffer.alloc(1200, 0x80), Buffer.from([22])];
  const d = new Rfc4571Deframer();
  const { frames, ok } = collect(d, [Buffer.concat(packets.map(frameRfc4571))]);
  assert.ok(ok);
  assert.deepEqual(frames, packets);
  assert.equal(d.bufferedBytes, 0);
});

test('frames split at every possible byte boundary, and one byte at a time', () => {
  const packets = [Buffer.from('first packet'), Buffer.alloc(300, 0xab), Buffer.from([1])];
  const stream = Buffer.concat(packets.map(frameRfc4571));
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new Rfc4571Deframer();
    const { frames, ok } = collect(d, [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.ok(ok, `cut at ${cut}`);
    assert.deepEqual(frames, packets, `cut at ${cut}`);
  }
  for (let cut2 = 1; cut2 < stream.length; cut2 += 7) {
    const d = new Rfc4571Deframer();
    const { frames } = collect(d, [stream.subarray(0, 1), stream.subarray(1, cut2), stream.subarray(cut2)]);
    assert.deepEqual(frames, packets, `three chunks, second cut at ${cut2}`);
  }
  const d = new Rfc4571Deframer();
  const bytes = [...stream].map((b) => Buffer.from([b]));
  const { frames } = collect(d, bytes);
  assert.deepEqual(frames, packets);
});

test('a reassembled frame is a copy: later chunks do not change a frame already delivered', () => {
  const d = new Rfc4571Deframer();
  const kept: Buffer[] = [];
  const a = frameRfc4571(Buffer.from('aaaa'));
  const b = frameRfc4571(Buffer.from('bbbb'));
  d.push(a.subarray(0, 3), (f) => kept.push(f));
  d.push(Buffer.concat([a.subarray(3), b.subarray(0, 4)]), (f) => kept.push(f));
  d.push(b.subarray(4), (f) => kept.push(f));
  assert.deepEqual(kept.map(String), ['aaaa', 'bbbb']);
});

test('half a frame is held (bounded) until the rest arrives', () => {
  const d = new Rfc4571Deframer({ maxFrameBytes: 100 });
  const f = frameRfc4571(Buffer.alloc(100, 1));
  const r = d.push(f.subarray(0, 50), () => assert.fail('no frame yet'));
  assert.ok(r.ok);
  assert.equal(d.bufferedBytes, 50);
  let got = 0;
  d.push(f.subarray(50), () => got++);
  assert.equal(got, 1);
  assert.equal(d.bufferedBytes, 0);
});

test('empty frames are skipped and counted', () => {
  const d = new Rfc4571Deframer();
  const { frames } = collect(d, [Buffer.from([0, 0, 0, 1, 9, 0, 0])]);
  assert.deepEqual(frames, [Buffer.from([9])]);
  assert.equal(d.emptyFrames, 2);
});

test('an oversize length prefix fails the stream, whole or split, and keeps failing', () => {
  for (const split of [false, true]) {
    const d = new Rfc4571Deframer({ maxFrameBytes: 1500 });
    const good = frameRfc4571(Buffer.from([1, 2]));
    const bad = Buffer.from([0x05, 0xdd, 1, 2, 3]); // 1501 bytes announced
    const chunks = split ? [Buffer.concat([good, bad.subarray(0, 1)]), bad.subarray(1)] : [Buffer.concat([good, bad])];
    const frames: Buffer[] = [];
    let last: ReturnType<Rfc4571Deframer['push']> = { ok: true };
    for (const c of chunks) last = d.push(c, (f) => frames.push(f));
    assert.deepEqual(frames, [Buffer.from([1, 2])], `split=${split}`);
    assert.deepEqual(last, { ok: false, reason: 'oversize', length: 1501 });
    assert.equal(d.push(good, () => assert.fail('no frame after failure')).ok, false);
    assert.equal(d.bufferedBytes, 0);
  }
  // The default limit: 16 KiB accepted, 16 KiB + 1 refused.
  assert.ok(new Rfc4571Deframer().push(frameRfc4571(Buffer.alloc(16 * 1024))!, () => {}).ok);
  assert.equal(new Rfc4571Deframer().push(frameRfc4571(Buffer.alloc(16 * 1024 + 1)), () => {}).ok, false);
});

test('random garbage never throws and never buffers more than one maximal frame', () => {
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let run = 0; run < 200; run++) {
    const d = new Rfc4571Deframer({ maxFrameBytes: 2048 });
    for (let i = 0; i < 20; i++) {
      const chunk = Buffer.alloc(Math.floor(rand() * 3000));
      for (let j = 0; j < chunk.length; j++) chunk[j] = Math.floor(rand() * 256);
      const r = d.push(chunk, (f) => assert.ok(f.length >= 1 && f.length <= 2048));
      assert.ok(d.bufferedBytes <= 2048 + 2);
      if (!r.ok) break;
    }
  }
});
