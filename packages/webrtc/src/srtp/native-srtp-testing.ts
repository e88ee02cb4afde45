// Test support for the native SRTP module: whether tests of the native path run, are skipped, or must fail.
import { loadNativeSrtp } from './native-srtp.js';

/**
 * False when the native module is loaded (run the native tests); else the reason, for node:test's `skip`.
 * With NATIVE_SRTP_REQUIRED=1 (set by scripts/test.mjs when the build script built the module) a missing
 * module throws instead, so CI cannot pass by skipping the native path.
 */
export function nativeUnavailable(): string | false {
  const { native, reason } = loadNativeSrtp();
  if (native !== null) return false;
  if (process.env['NATIVE_SRTP_REQUIRED'] === '1') throw new Error(`NATIVE_SRTP_REQUIRED=1 but ${reason}`);
  return reason;
}
