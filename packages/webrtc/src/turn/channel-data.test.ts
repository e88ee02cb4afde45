// ChannelData framing (RFC 8656 12.4/12.5) and the TCP/TLS stream framer: golden bytes, padding on streams only,
// split and coalesced streams, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeStunMessage } from '../stun/stun-message.js';
import { seededRandom } from '../testing/seeded-random.js';
import { encodeChannelData, parseChannelData } from './channel-data.js';
import { TurnStreamFramer } from './turn-stream-framer.js';

test('golden bytes: channel, length, data; padded to 4 only when asked', () => {
  assert.deepEqual(encodeChannelData(0x4001, Buffer.from('abcde'), { padded: false }), Buffer.from('40010005616263646' + '5', 'hex'));
  assert.deepEqual(encodeChannelData(0x4001, Buffer.from('abcde'), { padded: true }), Buffer.from('400100056162636465000000', 'hex'));
  assert.deepEqual(encodeChannelData(0x4fff, Buffer.alloc(0), { padded: true }), Buffer.from('4fff0000', 'hex'));
  assert.throws(() => encodeChannelData(0x3fff, Buffer.alloc(1), { padded: false }));
  assert.throws(() => encodeChannelData(0x5000, Buffer.alloc(1), { padded: false }));
});

test('parse: round trip with and without padding; bad channel, short data, or too much trailing is refused', () => {
  for (const padded of [false, true]) {
    const cd = parseChannelData(encodeChannelData(0x4abc, Buffer.from('hello'), { padded }));
    assert.deepEqual(cd && [cd.channel, cd.data.toString()], [0x4abc, 'hello']);
  }
  assert.equal(parseChannelData(Buffer.from('50000001aa', 'hex')), undefined, 'channel 0x5000 is reserved');
  assert.equal(parseChannelData(Buffer.from('40000005aabb', 'hex')), undefined, 'shorter than its length');
  assert.equal(parseChannelData(Buffer.from('40000001aa00000000', 'hex')), undefined, 'more than 3 bytes after the data');
  assert.equal(parseChannelData(Buffer.from('4000', 'hex')), undefined, 'shorter than a header');
  assert.equal(parseChannelData(Buffer.from('00010000', 'hex')), undefined, 'STUN, not ChannelData');
});

test('stream framer: STUN and padded ChannelData split at every byte or coalesced come out whole', () => {
  const stun = encodeStunMessage({ method: 1, cls: 0, transactionId: Buffer.alloc(12, 9), attributes: [{ type: 0x8022, value: Buffer.from('x') }] });
  const cd1 = encodeChannelData(0x4001, Buffer.from('abc'), { padded: true });
  const cd2 = encodeChannelData(0x4002, Buffer.alloc(0), { padded: true });
  const stream = Buffer.concat([stun, cd1, cd2, stun]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const f = new TurnStreamFramer();
    const out: Buffer[] = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      const r = f.push(Buffer.from(part));
      assert.ok(r.ok);
      out.push(...r.messages);
    }
    assert.deepEqual(out, [stun, cd1, cd2, stun], `cut at ${cut}`);
    assert.equal(f.bufferedBytes, 0);
  }
  const byteByByte = new TurnStreamFramer();
  const got: Buffer[] = [];
  for (const b of stream) {
    const r = byteByByte.push(Buffer.of(b));
    assert.ok(r.ok);
    got.push(...r.messages);
  }
  assert.equal(got.length, 4);
});

test('stream framer: a byte that starts neither message is an error; random bytes never throw and stay bounded', () => {
  const r = new TurnStreamFramer().push(Buffer.from('160301020001000000000000', 'hex')); // a TLS ClientHello on a plain TCP port
  assert.equal(r.ok, false);
  // 'P' (0x50) starts nothing TURN; ('G' of GET is 0x47, a ChannelData channel: the idle timeout ends such a client).
  assert.equal(new TurnStreamFramer().push(Buffer.from('POST / HTTP/1.1\r\n')).ok, false, 'HTTP');
  const rand = seededRandom(11);
  for (let i = 0; i < 2000; i++) {
    const f = new TurnStreamFramer();
    for (let j = 0; j < 5; j++) {
      const chunk = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
      const res = f.push(chunk);
      if (!res.ok) break;
      assert.ok(f.bufferedBytes <= 20 + 0xffff + 3);
    }
  }
});
