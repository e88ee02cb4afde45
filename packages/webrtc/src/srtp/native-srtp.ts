// The optional native SRTP module (packages/webrtc/native/atrium_srtp.c, built by scripts/build-native.mjs at
// install time when gcc and Node's headers are present) and the choice between it and the TypeScript path.
// The addon is used only when it loads and passes known-answer vectors (RFC 7714 section 16.1.1) at first use;
// otherwise, or when forced with ATRIUM_SRTP=js, every transform is the TypeScript one. Same results either way.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The native module's functions (see atrium_srtp.c for the exact contracts). */
export interface NativeSrtp {
  readonly openssl: string;
  gcmCreate(key: Buffer): NativeGcmHandle;
  gcmSeal(handle: NativeGcmHandle, iv: Buffer, src: Buffer, aadLength: number, out: Buffer, extraAad: Buffer | null): void;
  gcmOpen(handle: NativeGcmHandle, iv: Buffer, buf: Buffer, aadLength: number, end: number, extraAad: Buffer | null): boolean;
}
/** Opaque per-key OpenSSL state owned by the addon (freed when the handle is garbage collected). */
export type NativeGcmHandle = { readonly __nativeGcm: unique symbol };

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
    ? { native, reason: `native SRTP module (AES-GCM via ${native.openssl})` }
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

/** RFC 7714 section 16.1.1 (SRTP, AEAD_AES_128_GCM): seal, open, and a flipped tag bit must fail. Null when all pass. */
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
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
