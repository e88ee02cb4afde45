// NTP 64-bit timestamps (seconds since 1900 in 32.32 fixed point) for RTCP sender reports.
// RFC 3550 §4 https://www.rfc-editor.org/rfc/rfc3550#section-4

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch). */
export const NTP_UNIX_OFFSET_S = 2208988800;
const TWO_POW_32 = 4294967296;

/** Wall-clock ms since the Unix epoch -> 64-bit NTP timestamp (fraction rounded). */
export function ntpFromWallMs(ms: number): bigint {
  const totalS = Math.floor(ms / 1000);
  let fraction = Math.round(((ms - totalS * 1000) / 1000) * TWO_POW_32);
  let seconds = totalS + NTP_UNIX_OFFSET_S;
  if (fraction >= TWO_POW_32) {
    fraction -= TWO_POW_32;
    seconds += 1;
  }
  return (BigInt(seconds >>> 0) << 32n) | BigInt(fraction);
}

/** 64-bit NTP timestamp -> wall-clock ms since the Unix epoch (fractional). Era 0 only. */
export function wallMsFromNtp(ntp: bigint): number {
  const seconds = Number((ntp >> 32n) & 0xffffffffn);
  const fraction = Number(ntp & 0xffffffffn);
  return (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction * 1000) / TWO_POW_32;
}

/** The middle 32 bits of an NTP timestamp (16.16 seconds): the LSR field of report blocks. */
export function ntpMiddle32(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffffffffn);
}
