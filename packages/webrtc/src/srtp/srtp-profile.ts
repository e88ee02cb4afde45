// DTLS-SRTP protection profiles we support and their key/salt/tag sizes.
// RFC 5764 section 4.1.2 (AES128_CM_HMAC_SHA1_80), RFC 7714 section 14.2 (AEAD_AES_128_GCM).

export const SrtpProfile = { AES128_CM_HMAC_SHA1_80: 0x0001, AEAD_AES_128_GCM: 0x0007 } as const;
export type SrtpProfileId = (typeof SrtpProfile)[keyof typeof SrtpProfile];

/** Master (and session) cipher key length in bytes. */
export function srtpKeyLength(p: SrtpProfileId): number {
  void p;
  return 16;
}

/** Master (and session) salt length in bytes: 14 for AES-CM, 12 for AES-GCM. */
export function srtpSaltLength(p: SrtpProfileId): number {
  return p === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14;
}

/** Bytes to request from the DTLS exporter (`EXTRACTOR-dtls_srtp`): 2 * (key + salt). */
export function srtpExporterLength(p: SrtpProfileId): number {
  return 2 * (srtpKeyLength(p) + srtpSaltLength(p));
}

/** Authentication tag length in bytes added to each SRTP/SRTCP packet: 10 (HMAC-SHA1-80) or 16 (GCM). */
export function srtpTagLength(p: SrtpProfileId): number {
  return p === SrtpProfile.AEAD_AES_128_GCM ? 16 : 10;
}

export function isSrtpProfileId(value: number): value is SrtpProfileId {
  return value === SrtpProfile.AES128_CM_HMAC_SHA1_80 || value === SrtpProfile.AEAD_AES_128_GCM;
}
