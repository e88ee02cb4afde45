// SRTP/SRTCP (RFC 3711) with AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM (RFC 7714), keyed by DTLS-SRTP (RFC 5764).
export * from './srtp-profile.js';
export * from './srtp-session.js';
export { SrtpContext, SrtpError, type SrtpStats } from './srtp-context.js';
export { setSrtpImplementation, srtpImplementation, type SrtpImplementation, type SrtpImplementationPreference } from './native-srtp.js';
