import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../testing/seeded-random.js';
import { SrtpAesCmNativeTransform } from './srtp-aes-cm-native-transform.js';
import { SrtpAesCmTransform } from './srtp-aes-cm-transform.js';
import { SrtpAesGcmNativeTransform } from './srtp-aes-gcm-native-transform.js';
import { SrtpAesGcmTransform } from './srtp-aes-gcm-transform.js';
import { loadNativeSrtp, nativeSrtpSelfTest, setSrtpImplementation, srtpImplementation, type NativeSrtp } from './native-srtp.js';
import { nativeUnavailable } from './native-srtp-testing.js';
import type { SrtpSessionKeys } from './srtp-kdf.js';

const skip = nativeUnavailable();
const native = (): NativeSrtp => loadNativeSrtp().native ?? assert.fail('native module not loaded');

function randomKeys(random: () => number, saltLength = 12, authKeyLength = 0): SrtpSessionKeys {
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  return {
    rtpKey: bytes(16), rtpSalt: bytes(saltLength), rtpAuthKey: bytes(authKeyLength),
    rtcpKey: bytes(16), rtcpSalt: bytes(saltLength), rtcpAuthKey: bytes(authKeyLength),
  };
}

/** An RTP packet with 0-15 CSRCs, maybe a header extension, 0-1400 payload bytes; returns it and its header length. */
function randomRtp(random: () => number): { packet: Buffer; headerLength: number } {
  const csrcs = Math.floor(random() * 16);
  const extensionWords = random() < 0.5 ? -1 : Math.floor(random() * 8);
  const headerLength = 12 + 4 * csrcs + (extensionWords < 0 ? 0 : 4 + 4 * extensionWords);
  const payload = Math.floor(random() * 1401);
  const packet = Buffer.alloc(headerLength + payload);
  for (let i = 0; i < packet.length; i++) packet[i] = Math.floor(random() * 256);
  packet[0] = 0x80 | (extensionWords < 0 ? 0 : 0x10) | csrcs;
  if (extensionWords >= 0) packet.writeUInt16BE(extensionWords, 12 + 4 * csrcs + 2);
  return { packet, headerLength };
}

test('native and TypeScript AES-GCM agree on 500 random SRTP packets: equal bytes, and each opens the other', { skip }, () => {
  const random = seededRandom(20261205);
  for (let round = 0; round < 500; round++) {
    const keys = randomKeys(random);
    const js = new SrtpAesGcmTransform(keys);
    const nat = new SrtpAesGcmNativeTransform(keys, native());
    const { packet, headerLength } = randomRtp(random);
    const ssrc = Math.floor(random() * 0x100000000) >>> 0;
    const index = Math.floor(random() * 2 ** 48); // any ROC and sequence number
    const fromJs = js.protectRtp(packet, headerLength, ssrc, index);
    const fromNative = nat.protectRtp(packet, headerLength, ssrc, index);
    assert.deepEqual(fromNative, fromJs, `round ${round}: sealed bytes differ`);
    assert.deepEqual(nat.unprotectRtp(Buffer.from(fromJs), headerLength, ssrc, index), packet, `round ${round}: JS seal -> native open`);
    assert.deepEqual(js.unprotectRtp(Buffer.from(fromNative), headerLength, ssrc, index), packet, `round ${round}: native seal -> JS open`);
    // A wrong index (another IV) fails on both and leaves the packet as it was.
    const copy = Buffer.from(fromNative);
    assert.equal(nat.unprotectRtp(copy, headerLength, ssrc, index + 1), null);
    assert.equal(js.unprotectRtp(Buffer.from(fromNative), headerLength, ssrc, index + 1), null);
    assert.deepEqual(copy, fromNative, `round ${round}: a rejected packet is left unmodified`);
  }
});

test('native and TypeScript AES-GCM agree on 300 random SRTCP packets, E bit set and clear', { skip }, () => {
  const random = seededRandom(7714);
  for (let round = 0; round < 300; round++) {
    const keys = randomKeys(random);
    const js = new SrtpAesGcmTransform(keys);
    const nat = new SrtpAesGcmNativeTransform(keys, native());
    const packet = Buffer.alloc(8 + 4 * Math.floor(random() * 64));
    for (let i = 0; i < packet.length; i++) packet[i] = Math.floor(random() * 256);
    packet[0] = 0x80 | (packet[0] ?? 0) & 0x3f;
    const ssrc = packet.readUInt32BE(4);
    const srtcpIndex = Math.floor(random() * 0x80000000);
    const fromJs = js.protectRtcp(packet, ssrc, srtcpIndex);
    const fromNative = nat.protectRtcp(packet, ssrc, srtcpIndex);
    assert.deepEqual(fromNative, fromJs, `round ${round}: sealed SRTCP differs`);
    const eAndIndex = fromJs.readUInt32BE(js.srtcpIndexOffset(fromJs.length));
    assert.equal(nat.srtcpIndexOffset(fromJs.length), js.srtcpIndexOffset(fromJs.length));
    assert.deepEqual(nat.unprotectRtcp(Buffer.from(fromJs), ssrc, eAndIndex), packet, `round ${round}: JS seal -> native open`);
    assert.deepEqual(js.unprotectRtcp(Buffer.from(fromNative), ssrc, eAndIndex), packet, `round ${round}: native seal -> JS open`);
    const tampered = Buffer.from(fromNative);
    const at = Math.floor(random() * tampered.length);
    tampered[at] = (tampered[at] ?? 0) ^ (1 << Math.floor(random() * 8));
    const tamperedIndex = tampered.readUInt32BE(js.srtcpIndexOffset(tampered.length));
    const before = Buffer.from(tampered);
    assert.equal(nat.unprotectRtcp(tampered, ssrc, tamperedIndex), null, `round ${round}: byte ${at} tampered, native`);
    assert.equal(js.unprotectRtcp(Buffer.from(before), ssrc, tamperedIndex), null, `round ${round}: byte ${at} tampered, JS`);
    assert.deepEqual(tampered, before, 'a rejected SRTCP packet is left unmodified');
  }
  // E bit clear (unencrypted SRTCP): a packet the JS path accepts (its test builds one from RFC 7714 9.4) is
  // accepted by the native path; here both must reject a clear-E packet whose tag was made with E set.
  const keys = randomKeys(random);
  const js = new SrtpAesGcmTransform(keys);
  const nat = new SrtpAesGcmNativeTransform(keys, native());
  const sealed = js.protectRtcp(Buffer.from('81c90001cafebabe', 'hex'), 0xcafebabe, 3);
  sealed.writeUInt32BE(3, sealed.length - 4);
  assert.equal(js.unprotectRtcp(Buffer.from(sealed), 0xcafebabe, 3), null);
  assert.equal(nat.unprotectRtcp(Buffer.from(sealed), 0xcafebabe, 3), null);
});

test('native and TypeScript AES-CM + HMAC-SHA1-80 agree on 500 random SRTP and SRTCP packets', { skip }, () => {
  const random = seededRandom(3711);
  for (let round = 0; round < 500; round++) {
    const keys = randomKeys(random, 14, 20);
    const js = new SrtpAesCmTransform(keys);
    const nat = new SrtpAesCmNativeTransform(keys, native());
    const { packet, headerLength } = randomRtp(random);
    const ssrc = Math.floor(random() * 0x100000000) >>> 0;
    const index = Math.floor(random() * 2 ** 48);
    const fromJs = js.protectRtp(packet, headerLength, ssrc, index);
    const fromNative = nat.protectRtp(packet, headerLength, ssrc, index);
    assert.deepEqual(fromNative, fromJs, `round ${round}: SRTP bytes differ`);
    assert.deepEqual(nat.unprotectRtp(Buffer.from(fromJs), headerLength, ssrc, index), packet, `round ${round}: JS -> native`);
    assert.deepEqual(js.unprotectRtp(Buffer.from(fromNative), headerLength, ssrc, index), packet, `round ${round}: native -> JS`);
    // Another ROC is another authenticated portion: both reject, the packet stays as it was.
    const copy = Buffer.from(fromNative);
    assert.equal(nat.unprotectRtp(copy, headerLength, ssrc, index + 65536), null);
    assert.equal(js.unprotectRtp(Buffer.from(fromNative), headerLength, ssrc, index + 65536), null);
    assert.deepEqual(copy, fromNative);

    const rtcp = Buffer.alloc(8 + 4 * Math.floor(random() * 64));
    for (let i = 0; i < rtcp.length; i++) rtcp[i] = Math.floor(random() * 256);
    rtcp[0] = 0x80 | (rtcp[0] ?? 0) & 0x3f;
    const srtcpIndex = Math.floor(random() * 0x80000000);
    const sJs = js.protectRtcp(rtcp, ssrc, srtcpIndex);
    const sNative = nat.protectRtcp(rtcp, ssrc, srtcpIndex);
    assert.deepEqual(sNative, sJs, `round ${round}: SRTCP bytes differ`);
    const eAndIndex = sJs.readUInt32BE(js.srtcpIndexOffset(sJs.length));
    assert.deepEqual(nat.unprotectRtcp(Buffer.from(sJs), ssrc, eAndIndex), rtcp, `round ${round}: SRTCP JS -> native`);
    assert.deepEqual(js.unprotectRtcp(Buffer.from(sNative), ssrc, eAndIndex), rtcp, `round ${round}: SRTCP native -> JS`);
    const tampered = Buffer.from(sNative);
    const at = Math.floor(random() * tampered.length);
    tampered[at] = (tampered[at] ?? 0) ^ (1 << Math.floor(random() * 8));
    const tamperedIndex = tampered.readUInt32BE(js.srtcpIndexOffset(tampered.length));
    const before = Buffer.from(tampered);
    assert.equal(nat.unprotectRtcp(tampered, ssrc, tamperedIndex), null, `round ${round}: byte ${at} tampered, native`);
    assert.equal(js.unprotectRtcp(Buffer.from(before), ssrc, tamperedIndex), null, `round ${round}: byte ${at} tampered, JS`);
    assert.deepEqual(tampered, before);
  }
  // Unencrypted SRTCP (E clear): authenticated, not decrypted, on both.
  const keys = randomKeys(random, 14, 20);
  const js = new SrtpAesCmTransform(keys);
  const nat = new SrtpAesCmNativeTransform(keys, native());
  const clear = Buffer.from('81c90001cafebabe', 'hex');
  const withIndex = Buffer.concat([clear, Buffer.from('00000005', 'hex')]);
  const sealed = Buffer.alloc(withIndex.length + 10);
  withIndex.copy(sealed);
  const handle = native().cmCreate(keys.rtcpKey, keys.rtcpAuthKey);
  native().cmSeal(handle, Buffer.alloc(16), withIndex, withIndex.length, sealed, withIndex.length, null); // tag only
  assert.deepEqual(js.unprotectRtcp(Buffer.from(sealed), 0xcafebabe, 5), clear);
  assert.deepEqual(nat.unprotectRtcp(Buffer.from(sealed), 0xcafebabe, 5), clear);
});

test('native transforms protect into a given buffer (a send arena slot) with the same bytes as into a new one', { skip }, () => {
  const random = seededRandom(20261206);
  const arena = Buffer.alloc(64 * 1024, 0xee);
  let used = 0;
  for (let round = 0; round < 200; round++) {
    const gcm = round % 2 === 0;
    const keys = gcm ? randomKeys(random) : randomKeys(random, 14, 20);
    const nat = gcm ? new SrtpAesGcmNativeTransform(keys, native()) : new SrtpAesCmNativeTransform(keys, native());
    const { packet, headerLength } = randomRtp(random);
    const ssrc = Math.floor(random() * 0x100000000) >>> 0;
    const index = Math.floor(random() * 2 ** 32);
    const fresh = nat.protectRtp(packet, headerLength, ssrc, index);
    const length = packet.length + nat.rtpOverhead;
    if (used + length > arena.length) used = 0;
    const slot = arena.subarray(used, used + length);
    const before = Buffer.from(arena.subarray(used + length, used + length + 8));
    const out = nat.protectRtp(packet, headerLength, ssrc, index, slot);
    assert.equal(out, slot, `round ${round}: written into the slot`);
    assert.deepEqual(out, fresh, `round ${round}: the same SRTP bytes`);
    assert.deepEqual(arena.subarray(used + length, used + length + 8), before, `round ${round}: nothing written past the slot`);
    used += length;
  }
});

test('the addon checks its arguments: wrong sizes are RangeErrors, wrong types TypeErrors', { skip }, () => {
  const n = native();
  assert.throws(() => n.gcmCreate(Buffer.alloc(15)), RangeError);
  assert.throws(() => n.gcmCreate('key' as unknown as Buffer), TypeError);
  const handle = n.gcmCreate(Buffer.alloc(16));
  const iv = Buffer.alloc(12);
  const src = Buffer.alloc(40);
  assert.throws(() => n.gcmSeal(handle, Buffer.alloc(11), src, 12, Buffer.alloc(56), null), RangeError);
  assert.throws(() => n.gcmSeal(handle, iv, src, 41, Buffer.alloc(56), null), RangeError);
  assert.throws(() => n.gcmSeal(handle, iv, src, 12, Buffer.alloc(55), null), RangeError, 'no room for the tag');
  assert.throws(() => n.gcmSeal({} as never, iv, src, 12, Buffer.alloc(56), null), TypeError);
  assert.throws(() => n.gcmOpen(handle, iv, Buffer.alloc(27), 12, 12, null), RangeError, 'no room for the tag');
  assert.throws(() => n.gcmOpen(handle, iv, Buffer.alloc(40), 13, 12, null), RangeError);
  assert.equal(n.gcmOpen(handle, iv, Buffer.alloc(40), 12, 24, null), false, 'a zero tag does not verify');
  // AES-256-GCM keys are accepted (for a future profile); the result differs from AES-128 with a prefix key.
  const out128 = Buffer.alloc(56);
  const out256 = Buffer.alloc(56);
  n.gcmSeal(handle, iv, src, 12, out128, null);
  n.gcmSeal(n.gcmCreate(Buffer.alloc(32)), iv, src, 12, out256, null);
  assert.notDeepEqual(out256, out128);

  const cm = n.cmCreate(Buffer.alloc(16), Buffer.alloc(20));
  const iv16 = Buffer.alloc(16);
  assert.throws(() => n.cmCreate(Buffer.alloc(16), Buffer.alloc(0)), RangeError);
  assert.throws(() => n.cmCreate(Buffer.alloc(24), Buffer.alloc(20)), RangeError);
  assert.throws(() => n.cmSeal(cm, iv, src, 12, Buffer.alloc(50), 40, null), RangeError, '12-byte IV');
  assert.throws(() => n.cmSeal(cm, iv16, src, 12, Buffer.alloc(49), 40, null), RangeError, 'no room for the tag');
  assert.throws(() => n.cmSeal(cm, iv16, src, 12, Buffer.alloc(50), 39, null), RangeError, 'authLength short of the packet');
  assert.throws(() => n.cmOpen(cm, iv16, Buffer.alloc(40), 12, 31, 30, null, true), RangeError);
  assert.throws(() => n.cmOpen(cm, iv16, Buffer.alloc(40), 12, 30, 31, null, true), RangeError, 'no room for the tag');
  assert.throws(() => n.cmOpen(cm, iv16, Buffer.alloc(40), 12, 30, 30, null, 1 as unknown as boolean), TypeError);
  // A handle of one kind where the other is expected is a TypeError, never a misread.
  assert.throws(() => n.cmSeal(handle as never, iv16, src, 12, Buffer.alloc(50), 40, null), TypeError);
  assert.throws(() => n.gcmSeal(cm as never, iv, src, 12, Buffer.alloc(56), null), TypeError);
});

test('the self-test rejects a module whose output is wrong', { skip }, () => {
  const n = native();
  assert.equal(nativeSrtpSelfTest(n), null);
  const flipSeal: NativeSrtp = { ...n, gcmSeal: (h, iv, src, aad, out, extra) => { n.gcmSeal(h, iv, src, aad, out, extra); out[20] = (out[20] ?? 0) ^ 1; } };
  assert.match(nativeSrtpSelfTest(flipSeal) ?? '', /seal differs/);
  const acceptAll: NativeSrtp = { ...n, gcmOpen: (h, iv, buf, aad, end, extra) => { n.gcmOpen(h, iv, buf, aad, end, extra); return true; } };
  assert.match(nativeSrtpSelfTest(acceptAll) ?? '', /tampered tag was accepted/);
  const wrongKeystream: NativeSrtp = { ...n, cmSeal: (h, iv, src, start, out, auth, extra) => { n.cmSeal(h, iv, src, start, out, auth, extra); out[0] = (out[0] ?? 0) ^ 1; } };
  assert.match(nativeSrtpSelfTest(wrongKeystream) ?? '', /keystream differs/);
  const ignoreExtra: NativeSrtp = { ...n, cmSeal: (h, iv, src, start, out, auth) => n.cmSeal(h, iv, src, start, out, auth, null) };
  assert.match(nativeSrtpSelfTest(ignoreExtra) ?? '', /data \| authExtra differs/);
  const cmAcceptAll: NativeSrtp = { ...n, cmOpen: () => true };
  assert.match(nativeSrtpSelfTest(cmAcceptAll) ?? '', /accepted a tampered tag/);
  const throwing: NativeSrtp = { ...n, gcmCreate: () => { throw new Error('no OpenSSL'); } };
  assert.equal(nativeSrtpSelfTest(throwing), 'no OpenSSL');
});

test('setSrtpImplementation: js is always possible, auto picks native when it loaded', () => {
  try {
    assert.equal(setSrtpImplementation('js').name, 'js');
    assert.equal(setSrtpImplementation('auto').name, skip === false ? 'native' : 'js');
    if (skip === false) assert.equal(setSrtpImplementation('native').name, 'native');
    else assert.throws(() => setSrtpImplementation('native'), /ATRIUM_SRTP=native/);
  } finally {
    setSrtpImplementation('auto');
  }
});

test('ATRIUM_SRTP chooses the implementation; a bad value is refused by name', () => {
  const module = fileURLToPath(new URL('./native-srtp.ts', import.meta.url));
  const probe = `import(${JSON.stringify(module)}).then((m) => { try { console.log(m.srtpImplementation().name); } catch (e) { console.log('error: ' + e.message); } })`;
  const run = (value: string): string => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], { env: { ...process.env, ATRIUM_SRTP: value }, encoding: 'utf8' });
    return r.stdout.trim();
  };
  assert.equal(run('js'), 'js');
  assert.equal(run(''), srtpImplementation().name);
  assert.match(run('fast'), /^error: ATRIUM_SRTP: expected auto, js or native, got "fast"/);
});
