import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { AesCtrKeystream } from './aes-ctr-keystream.js';

const key = Buffer.from('2B7E151628AED2A6ABF7158809CF4F3C', 'hex');
const iv = Buffer.from('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000', 'hex');

function reference(data: Buffer): Buffer {
  return createCipheriv('aes-128-ctr', key, iv).update(data);
}

function pattern(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (i * 13 + 5) & 0xff));
}

test('RFC 3711 B.2 keystream from zero input', () => {
  const out = Buffer.alloc(48);
  new AesCtrKeystream(key).xor(iv, Buffer.alloc(48), out, 0);
  assert.equal(
    out.toString('hex').toUpperCase(),
    'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0',
  );
});

test('matches OpenSSL AES-128-CTR for many lengths, including growth past the block buffer', () => {
  const ctr = new AesCtrKeystream(key);
  for (const length of [0, 1, 3, 4, 15, 16, 17, 100, 1200, 2047, 2048, 2049, 5000, 64]) {
    const data = pattern(length);
    const out = Buffer.alloc(length + 8);
    ctr.xor(iv, data, out, 8);
    assert.deepEqual(out.subarray(8), reference(data), `length ${length}`);
  }
});

test('counter blocks beyond 255 carry into the second counter byte', () => {
  const data = pattern(16 * 300 + 5);
  const out = Buffer.alloc(data.length);
  new AesCtrKeystream(key).xor(iv, data, out, 0);
  assert.deepEqual(out, reference(data));
});

test('unaligned source or destination falls back correctly, and in-place works', () => {
  const ctr = new AesCtrKeystream(key);
  const backing = Buffer.alloc(1300);
  const data = pattern(1201);
  data.copy(backing, 3);
  const unalignedSrc = backing.subarray(3, 3 + data.length);
  const out = Buffer.alloc(data.length + 1);
  ctr.xor(iv, unalignedSrc, out, 1);
  assert.deepEqual(out.subarray(1), reference(data));

  const inPlace = Buffer.alloc(1212);
  data.copy(inPlace, 12, 0, 1200);
  ctr.xor(iv, inPlace.subarray(12), inPlace, 12);
  assert.deepEqual(inPlace.subarray(12), reference(data.subarray(0, 1200)));
});
