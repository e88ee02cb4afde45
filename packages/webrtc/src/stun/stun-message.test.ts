// STUN codec against the RFC 5769 test vectors (https://www.rfc-editor.org/rfc/rfc5769), both ways,
// plus garbage input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from './crc32.js';
import { StunAttr, StunClass, StunMethod, stunClassOf, stunMessageType, stunMethodOf } from './stun-constants.js';
import {
  encodeStunMessage,
  getStunAttribute,
  isStunMessage,
  longTermKey,
  parseStunMessage,
  shortTermKey,
  verifyFingerprint,
  verifyMessageIntegrity,
} from './stun-message.js';
import type { StunMessage } from './stun-message.js';
import {
  decodeErrorCode,
  decodeMappedAddress,
  decodeUint32,
  decodeUint64,
  decodeXorMappedAddress,
  encodeErrorCode,
  encodeMappedAddress,
  encodeXorMappedAddress,
  peekBindingRequestUfrag,
} from './stun-attributes.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

// RFC 5769 2.1 Sample Request
const SAMPLE_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
// RFC 5769 2.2 Sample IPv4 Response
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
// RFC 5769 2.3 Sample IPv6 Response
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
// RFC 5769 2.4 Sample Request with Long-Term Authentication
const SAMPLE_LONG_TERM_REQUEST = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

function parseOk(buf: Buffer): StunMessage {
  const r = parseStunMessage(buf);
  if (!r.ok) assert.fail(r.error);
  return r.message;
}

/** Re-encodes a parsed message from its own attributes (MI/FP recomputed). */
function reencode(m: StunMessage, key: Uint8Array, fingerprint: boolean, paddingByte: number): Buffer {
  const attributes = m.attributes.filter(
    (a) => a.type !== StunAttr.messageIntegrity && a.type !== StunAttr.fingerprint,
  );
  return encodeStunMessage(
    { method: m.method, cls: m.cls, transactionId: m.transactionId, attributes },
    { integrityKey: key, fingerprint, paddingByte },
  );
}

test('crc32 check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('message type packing', () => {
  assert.equal(stunMessageType(StunMethod.binding, StunClass.request), 0x0001);
  assert.equal(stunMessageType(StunMethod.binding, StunClass.success), 0x0101);
  assert.equal(stunMessageType(StunMethod.binding, StunClass.error), 0x0111);
  assert.equal(stunMessageType(StunMethod.binding, StunClass.indication), 0x0011);
  assert.equal(stunMessageType(0x003, StunClass.request), 0x0003);
  for (const t of [0x0001, 0x0101, 0x0111, 0x0011, 0x0113, 0x3eef]) {
    assert.equal(stunMessageType(stunMethodOf(t), stunClassOf(t)), t);
  }
});

test('RFC 5769 2.1 sample request: parse, verify, re-encode byte-exact', () => {
  assert.ok(isStunMessage(SAMPLE_REQUEST));
  const m = parseOk(SAMPLE_REQUEST);
  assert.equal(m.method, StunMethod.binding);
  assert.equal(m.cls, StunClass.request);
  assert.equal(m.transactionId.toString('hex'), 'b7e7a701bc34d686fa87dfae');
  assert.equal(Buffer.from(getStunAttribute(m, StunAttr.software)!).toString(), 'STUN test client');
  assert.equal(Buffer.from(getStunAttribute(m, StunAttr.username)!).toString(), 'evtj:h6vY');
  assert.equal(decodeUint32(getStunAttribute(m, StunAttr.priority)!), 0x6e0001ff);
  assert.equal(decodeUint64(getStunAttribute(m, StunAttr.iceControlled)!), 0x932ff9b151263b36n);
  assert.equal(verifyFingerprint(m), true);
  assert.equal(verifyMessageIntegrity(m, shortTermKey(PASSWORD)), true);
  assert.equal(verifyMessageIntegrity(m, shortTermKey('wrong')), false);
  assert.deepEqual(reencode(m, shortTermKey(PASSWORD), true, 0x20), SAMPLE_REQUEST);
  assert.equal(peekBindingRequestUfrag(SAMPLE_REQUEST), 'evtj');
});

test('RFC 5769 2.2 sample IPv4 response: parse, verify, encode byte-exact', () => {
  const m = parseOk(SAMPLE_IPV4_RESPONSE);
  assert.equal(m.cls, StunClass.success);
  assert.equal(verifyFingerprint(m), true);
  assert.equal(verifyMessageIntegrity(m, shortTermKey(PASSWORD)), true);
  const mapped = decodeXorMappedAddress(getStunAttribute(m, StunAttr.xorMappedAddress)!, m.transactionId);
  assert.deepEqual(mapped, { family: 4, address: '192.0.2.1', port: 32853 });
  const built = encodeStunMessage(
    {
      method: StunMethod.binding,
      cls: StunClass.success,
      transactionId: hex('b7e7a701bc34d686fa87dfae'),
      attributes: [
        { type: StunAttr.software, value: Buffer.from('test vector') },
        { type: StunAttr.xorMappedAddress, value: encodeXorMappedAddress(mapped!, m.transactionId) },
      ],
    },
    { integrityKey: shortTermKey(PASSWORD), fingerprint: true, paddingByte: 0x20 },
  );
  assert.deepEqual(built, SAMPLE_IPV4_RESPONSE);
  assert.equal(peekBindingRequestUfrag(SAMPLE_IPV4_RESPONSE), undefined, 'not a request');
});

test('RFC 5769 2.3 sample IPv6 response: parse, verify, encode byte-exact', () => {
  const m = parseOk(SAMPLE_IPV6_RESPONSE);
  assert.equal(verifyFingerprint(m), true);
  assert.equal(verifyMessageIntegrity(m, shortTermKey(PASSWORD)), true);
  const mapped = decodeXorMappedAddress(getStunAttribute(m, StunAttr.xorMappedAddress)!, m.transactionId);
  assert.deepEqual(mapped, { family: 6, address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
  assert.deepEqual(reencode(m, shortTermKey(PASSWORD), true, 0x20), SAMPLE_IPV6_RESPONSE);
  const built = encodeStunMessage(
    {
      method: StunMethod.binding,
      cls: StunClass.success,
      transactionId: m.transactionId,
      attributes: [
        { type: StunAttr.software, value: Buffer.from('test vector') },
        { type: StunAttr.xorMappedAddress, value: encodeXorMappedAddress(mapped!, m.transactionId) },
      ],
    },
    { integrityKey: shortTermKey(PASSWORD), fingerprint: true, paddingByte: 0x20 },
  );
  assert.deepEqual(built, SAMPLE_IPV6_RESPONSE);
});

test('RFC 5769 2.4 long-term request: parse, verify, re-encode byte-exact', () => {
  const m = parseOk(SAMPLE_LONG_TERM_REQUEST);
  const username = Buffer.from(getStunAttribute(m, StunAttr.username)!).toString('utf8');
  assert.equal(username, '\u30de\u30c8\u30ea\u30c3\u30af\u30b9');
  assert.equal(Buffer.from(getStunAttribute(m, StunAttr.realm)!).toString(), 'example.org');
  assert.equal(verifyFingerprint(m), undefined);
  // RFC 5769 gives the password after SASLprep as "TheMatrIX".
  const key = longTermKey(username, 'example.org', 'TheMatrIX');
  assert.equal(verifyMessageIntegrity(m, key), true);
  assert.equal(verifyMessageIntegrity(m, longTermKey(username, 'example.org', 'TheMatrix')), false);
  assert.deepEqual(reencode(m, key, false, 0), SAMPLE_LONG_TERM_REQUEST);
});

test('a changed byte breaks fingerprint and integrity', () => {
  const copy = Buffer.from(SAMPLE_REQUEST);
  copy[30] = copy[30]! ^ 1;
  const m = parseOk(copy);
  assert.equal(verifyFingerprint(m), false);
  assert.equal(verifyMessageIntegrity(m, shortTermKey(PASSWORD)), false);
});

test('attributes after FINGERPRINT are an error; after MESSAGE-INTEGRITY ignored; unknown kept', () => {
  const afterFp = Buffer.concat([SAMPLE_REQUEST, hex('80 22 00 00')]);
  afterFp.writeUInt16BE(afterFp.length - 20, 2);
  assert.equal(parseStunMessage(afterFp).ok, false);
  const withUnknown = encodeStunMessage(
    {
      method: StunMethod.binding,
      cls: StunClass.request,
      transactionId: Buffer.alloc(12, 7),
      attributes: [{ type: 0x7777, value: Buffer.from([1, 2, 3]) }, { type: StunAttr.useCandidate, value: new Uint8Array(0) }],
    },
    { integrityKey: shortTermKey('pw'), fingerprint: true },
  );
  const m = parseOk(withUnknown);
  assert.deepEqual(m.attributes.map((a) => a.type), [0x7777, StunAttr.useCandidate, StunAttr.messageIntegrity, StunAttr.fingerprint]);
  assert.deepEqual([...m.attributes[0]!.value], [1, 2, 3]);
  assert.equal(verifyFingerprint(m), true);
  assert.equal(verifyMessageIntegrity(m, shortTermKey('pw')), true);
});

test('address, error code codecs round trip', () => {
  const txid = Buffer.alloc(12, 0x5a);
  for (const a of [
    { family: 4, address: '203.0.113.45', port: 51234 },
    { family: 6, address: '2001:db8::1', port: 443 },
    { family: 6, address: '::ffff:192.0.2.7', port: 1 },
    { family: 6, address: '::', port: 65535 },
    { family: 6, address: 'fe80::1:0:0:2', port: 9 },
  ] as const) {
    const expectAddr = a.address === '::ffff:192.0.2.7' ? '::ffff:c000:207' : a.address;
    assert.deepEqual(decodeXorMappedAddress(encodeXorMappedAddress(a, txid), txid), { ...a, address: expectAddr });
    assert.deepEqual(decodeMappedAddress(encodeMappedAddress(a)), { ...a, address: expectAddr });
  }
  assert.deepEqual(decodeErrorCode(encodeErrorCode({ code: 487, reason: 'Role Conflict' })), {
    code: 487,
    reason: 'Role Conflict',
  });
  assert.deepEqual([...encodeErrorCode({ code: 401, reason: '' })], [0, 0, 4, 1]);
  assert.equal(decodeErrorCode(new Uint8Array([0, 0, 4])), undefined);
  assert.equal(decodeXorMappedAddress(new Uint8Array([0, 3, 0, 0, 1, 2, 3, 4]), txid), undefined);
  assert.equal(decodeXorMappedAddress(new Uint8Array([0, 1, 0, 0, 1, 2, 3]), txid), undefined);
});

test('garbage gives an error result, never throws', () => {
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.alloc(19),
    Buffer.from('hello world, this is not stun'),
    (() => { const b = Buffer.from(SAMPLE_REQUEST); b[4] = b[4]! ^ 1; return b; })(), // cookie
    (() => { const b = Buffer.from(SAMPLE_REQUEST); b[3] = 0x5c; return b; })(), // length past datagram
    (() => { const b = Buffer.from(SAMPLE_REQUEST); b[23] = 0x40; return b; })(), // attribute past message
    (() => { const b = Buffer.from(SAMPLE_REQUEST); b[3] = 0x57; return b; })(), // length not /4
    (() => { const b = Buffer.from(SAMPLE_REQUEST); b[0] = 0x80; return b; })(), // first bits
  ];
  for (const c of cases) {
    const r = parseStunMessage(c);
    assert.equal(r.ok, false);
    assert.equal(peekBindingRequestUfrag(c), undefined);
  }
  // Random mutations of valid messages: no throw from any entry point.
  let seed = 12345;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 3000; i++) {
    const src = [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST][i % 4]!;
    const b = Buffer.from(src.subarray(0, Math.max(0, src.length - Math.floor(rand() * 8) * 4 * (i & 1))));
    for (let k = 0; k < 3; k++) if (b.length > 0) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    if (i % 3 === 0 && b.length >= 4) b.writeUInt16BE(Math.max(0, b.length - 20), 2);
    peekBindingRequestUfrag(b);
    const r = parseStunMessage(b);
    if (r.ok) {
      verifyFingerprint(r.message);
      verifyMessageIntegrity(r.message, shortTermKey(PASSWORD));
      for (const a of r.message.attributes) {
        decodeXorMappedAddress(a.value, r.message.transactionId);
        decodeErrorCode(a.value);
      }
    }
  }
});
