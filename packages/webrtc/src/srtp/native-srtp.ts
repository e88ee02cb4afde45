// The optional native SRTP module (packages/webrtc/native/atrium_srtp.c, built by scripts/build-native.mjs at
// install time when gcc and Node's headers are present) and the choice between it and the TypeScript path.
// The addon is used only when it loads and passes known-answer vectors (RFC 7714 16.1.1, RFC 3711 B.2, RFC 2202) at first use;
// otherwise, or when forced with ATRIUM_SRTP=js, every transform is the TypeScript one. Same results either way.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The native module's functions (see atrium_srtp.c for the exact contracts). */
export interface NativeSrtp {
  readonly openssl: string;
  gcmCreate(key: Buffer): NativeGcmHandle;
  gcmSeal(handle: NativeGcmHandle, iv: Buffer, src: Buffer, aadLength: number, out: Buffer, extraAad: Buffer | null): void;
  gcmOpen(handle: NativeGcmHandle, iv: Buffer, buf: Buffer, aadLength: number, end: number, extraAad: Buffer | null): boolean;
  cmCreate(key: Buffer, authKey: Buffer): NativeCmHandle;
  cmSeal(handle: NativeCmHandle, iv: Buffer, src: Buffer, encStart: number, out: Buffer, authLength: number, authExtra: Buffer | null): void;
  cmOpen(
    handle: NativeCmHandle, iv: Buffer, buf: Buffer, encStart: number, encEnd: number, authLength: number, authExtra: Buffer | null,
    decrypt: boolean,
  ): boolean;
}
/** Opaque per-key OpenSSL state owned by the addon (freed when the handle is garbage collected). */
export type NativeGcmHandle = { readonly __nativeGcm: unique symbol };
export type NativeCmHandle = { readonly __nativeCm: unique symbol };

export type SrtpImplementationName = 'native' | 'js';
export type SrtpImplementationPreference = 'auto' | SrtpImplementationName;

export interface SrtpImplementation {
  /** What new SRTP contexts use. */
  readonly name: SrtpImplementationName;
  /** One line saying why (addon loaded and self-tested with which OpenSSL, or why not). */
  readonly reason: string;
}

/** Where the build script puts the addon. */
export const NATIVE_SRTP_PATH = fileURLToPath(new URL('../../native/build/atrium_srtp.node', import.meta.url));

let loaded: { native: NativeSrtp | null; reason: string } | undefined;
let preference: SrtpImplementationPreference | undefined;

/** The addon if it loads and passes its self-test, else null with the reason; tried once per process. */
export function loadNativeSrtp(): { native: NativeSrtp | null; reason: string } {
  if (loaded !== undefined) return loaded;
  let native: NativeSrtp;
  try {
    native = createRequire(import.meta.url)(NATIVE_SRTP_PATH) as NativeSrtp;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? String(err);
    loaded = { native: null, reason: `native SRTP module not loaded (${message})` };
    return loaded;
  }
  const failure = nativeSrtpSelfTest(native);
  loaded = failure === null
    ? { native, reason: `native SRTP module (AES-GCM, AES-CM + HMAC-SHA1 via ${native.openssl})` }
    : { native: null, reason: `native SRTP module failed its self-test (${failure})` };
  return loaded;
}

function preferenceFromEnv(): SrtpImplementationPreference {
  const value = (process.env['ATRIUM_SRTP'] ?? '').trim().toLowerCase();
  if (value === '' || value === 'auto') return 'auto';
  if (value === 'js' || value === 'native') return value;
  throw new RangeError(`ATRIUM_SRTP: expected auto, js or native, got ${JSON.stringify(process.env['ATRIUM_SRTP'])}`);
}

/**
 * Chooses the implementation for SRTP contexts created from now on: 'auto' (the default: native when it loads and
 * passes its self-test), 'js', or 'native' (throws if the addon is unavailable). Without a call, ATRIUM_SRTP decides.
 */
export function setSrtpImplementation(pref: SrtpImplementationPreference): SrtpImplementation {
  if (pref === 'native' && loadNativeSrtp().native === null) throw new Error(`ATRIUM_SRTP=native: ${loadNativeSrtp().reason}`);
  preference = pref;
  return srtpImplementation();
}

/** The implementation new SRTP contexts use, and why. */
export function srtpImplementation(): SrtpImplementation {
  preference ??= preferenceFromEnv();
  if (preference === 'js') return { name: 'js', reason: 'TypeScript SRTP (forced: js)' };
  const { native, reason } = loadNativeSrtp();
  if (native === null) {
    if (preference === 'native') throw new Error(`ATRIUM_SRTP=native: ${reason}`);
    return { name: 'js', reason: `TypeScript SRTP; ${reason}` };
  }
  return { name: 'native', reason };
}

/** The addon when the current choice is native, else null. */
export function nativeSrtpIfChosen(): NativeSrtp | null {
  return srtpImplementation().name === 'native' ? loadNativeSrtp().native : null;
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * Known answers, null when all pass: RFC 7714 section 16.1.1 (SRTP AEAD_AES_128_GCM: seal, open, a flipped tag bit
 * fails); RFC 3711 appendix B.2 (the AES-CM keystream) and RFC 2202 test case 2 (HMAC-SHA1) through cmSeal/cmOpen.
 */
export function nativeSrtpSelfTest(native: NativeSrtp): string | null {
  try {
    const key = hex('000102030405060708090a0b0c0d0e0f');
    const iv = hex('51753c6580c2726f20718414'); // salt XOR (ssrc 5501a0b2, ROC 0, seq f17b)
    const plain = hex('8040f17b8041f8d35501a0b2 47616c6c69612065737420 6f6d6e697320646976697361 20696e2070617274657320 74726573');
    const sealed = hex(`8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a
                        51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`);
    const handle = native.gcmCreate(key);
    const out = Buffer.alloc(plain.length + 16);
    native.gcmSeal(handle, iv, plain, 12, out, null);
    if (!out.equals(sealed)) return 'seal differs from RFC 7714 16.1.1';
    native.gcmSeal(handle, iv, plain, 12, out, null); // the re-used context gives the same answer again
    if (!out.equals(sealed)) return 'second seal on the same context differs';
    const opened = Buffer.from(sealed);
    if (!native.gcmOpen(handle, iv, opened, 12, plain.length, null)) return 'open of RFC 7714 16.1.1 failed';
    if (!opened.subarray(0, plain.length).equals(plain)) return 'open differs from RFC 7714 16.1.1';
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    if (native.gcmOpen(handle, iv, tampered, 12, plain.length, null)) return 'a tampered tag was accepted';
    return cmSelfTest(native);
  } catch (err) {
    return (err as Error).message;
  }
}

function cmSelfTest(native: NativeSrtp): string | null {
  // RFC 3711 B.2: session key 2B7E..3C, counter block F0F1..FCFD0000: a zero input encrypts to the keystream.
  // The authenticated portion is then the whole output; RFC 2202 test case 2 gives HMAC-SHA1 with key "Jefe".
  const handle = native.cmCreate(hex('2B7E151628AED2A6ABF7158809CF4F3C'), Buffer.from('Jefe'));
  const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
  const out = Buffer.alloc(48 + 10);
  native.cmSeal(handle, iv, Buffer.alloc(48), 0, out, 48, null);
  const keystream = hex('E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0');
  if (!out.subarray(0, 48).equals(keystream)) return 'AES-CM keystream differs from RFC 3711 B.2';
  // HMAC-SHA1("Jefe", "what do ya want for nothing?") = effcdf6ae5eb2fa2d27416d5f184df9c259a7c79 (RFC 2202).
  const message = Buffer.from('what do ya want for nothing?');
  const mac = Buffer.alloc(message.length + 10);
  native.cmSeal(handle, iv, message, message.length, mac, message.length, null); // encStart = end: nothing encrypted
  if (!mac.subarray(message.length).equals(hex('effcdf6ae5eb2fa2d274'))) return 'HMAC-SHA1 differs from RFC 2202';
  const split = Buffer.alloc(20 + 10); // the same MAC with the message's last 8 bytes passed as authExtra
  native.cmSeal(handle, iv, message.subarray(0, 20), 20, split, 20, message.subarray(20));
  if (!split.subarray(20).equals(hex('effcdf6ae5eb2fa2d274'))) return 'HMAC-SHA1 over data | authExtra differs from RFC 2202';
  if (!native.cmOpen(handle, iv, mac, message.length, message.length, message.length, null, false)) return 'cmOpen rejected a good tag';
  mac[mac.length - 1] = (mac[mac.length - 1] ?? 0) ^ 1;
  if (native.cmOpen(handle, iv, mac, message.length, message.length, message.length, null, false)) return 'cmOpen accepted a tampered tag';
  const sealed = Buffer.from(out);
  if (!native.cmOpen(handle, iv, sealed, 0, 48, 48, null, true) || !sealed.subarray(0, 48).equals(Buffer.alloc(48))) {
    return 'cmOpen did not decrypt the RFC 3711 B.2 keystream back to zeros';
  }
  return null;
}
