// DCEP golden bytes (RFC 8832 §5.1 layout) and round trips.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dcepAck, decodeOpen, encodeOpen } from './dcep.js';

describe('dcep', () => {
  it('encodes DATA_CHANNEL_OPEN golden bytes', () => {
    const buf = encodeOpen({ label: 'chat', protocol: 'p', ordered: true, priority: 256 });
    assert.equal(buf.toString('hex'), '03000100' + '00000000' + '0004' + '0001' + Buffer.from('chatp').toString('hex'));
    const lossy = encodeOpen({ label: '_lossy', protocol: '', ordered: false, maxRetransmits: 0, priority: 0 });
    assert.equal(lossy.subarray(0, 12).toString('hex'), '03810000' + '00000000' + '0006' + '0000');
    const timed = encodeOpen({ label: '', protocol: '', ordered: true, maxPacketLifeTime: 3000, priority: 0 });
    assert.equal(timed.toString('hex'), '03020000' + '00000bb8' + '0000' + '0000');
    assert.deepEqual(dcepAck, Buffer.from([2]));
  });

  it('round-trips every channel type, including utf-8 labels', () => {
    const cases = [
      { label: '_reliable', protocol: '', ordered: true, priority: 0 },
      { label: 'ünïcødé ☃', protocol: 'proto', ordered: false, priority: 512 },
      { label: 'r', protocol: '', ordered: true, maxRetransmits: 5, priority: 0 },
      { label: 'r', protocol: '', ordered: false, maxRetransmits: 0, priority: 0 },
      { label: 't', protocol: '', ordered: false, maxPacketLifeTime: 150, priority: 0 },
    ];
    for (const c of cases) assert.deepEqual(decodeOpen(encodeOpen(c)), c);
  });

  it('rejects malformed messages', () => {
    const good = encodeOpen({ label: 'abc', protocol: '', ordered: true, priority: 0 });
    assert.equal(decodeOpen(good.subarray(0, 13)), undefined); // label truncated
    assert.equal(decodeOpen(Buffer.alloc(3)), undefined);
    const badType = Buffer.from(good);
    badType[1] = 0x05;
    assert.equal(decodeOpen(badType), undefined);
    assert.equal(decodeOpen(dcepAck), undefined);
  });
});
