// Random ICE credentials (RFC 8839 section 5.4: ice-ufrag 4-256 ice-chars, ice-pwd 22-256 ice-chars;
// ice-char is ALPHA / DIGIT / "+" / "/", which is exactly the base64 alphabet).
import { randomBytes } from 'node:crypto';

/** 16 ice-chars (96 random bits). */
export function randomUfrag(): string {
  return randomBytes(12).toString('base64');
}

/** 24 ice-chars (144 random bits). */
export function randomPwd(): string {
  return randomBytes(18).toString('base64');
}
