// Splits a TURN TCP/TLS byte stream into messages (RFC 8656 section 12.5): STUN messages carry their own length
// (20-byte header + length), ChannelData messages their length rounded up to a multiple of 4. Nothing else may
// appear on the stream, so an unknown first byte is an error that ends the connection.
import { STUN_HEADER_BYTES, STUN_MAGIC_COOKIE } from '../stun/stun-constants.js';
import { CHANNEL_DATA_HEADER_BYTES } from './channel-data.js';

/** Largest message accepted on a stream: a STUN header plus the largest length field, i.e. anything legal. */
export const TURN_STREAM_MAX_MESSAGE_BYTES = STUN_HEADER_BYTES + 0xffff;

export type TurnStreamResult = { ok: true; messages: Buffer[] } | { ok: false; error: string };

export class TurnStreamFramer {
  private pending: Buffer = Buffer.alloc(0);

  /**
   * Appends `chunk` and returns every whole message now available (each a copy it owns). On a framing error the
   * stream cannot be resynchronised: the caller closes the connection.
   */
  push(chunk: Buffer): TurnStreamResult {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    let off = 0;
    for (;;) {
      const left = this.pending.length - off;
      if (left < 4) break;
      const first = this.pending[off]!;
      let total: number;
      if ((first & 0xc0) === 0) {
        // A STUN header: the magic cookie and a length that is a multiple of 4 tell it from anything else (TLS, HTTP).
        if (left < 8) break;
        const len = this.pending.readUInt16BE(off + 2);
        if (this.pending.readUInt32BE(off + 4) !== STUN_MAGIC_COOKIE || (len & 3) !== 0) {
          this.pending = Buffer.alloc(0);
          return { ok: false, error: 'a STUN header without the magic cookie or with a length not a multiple of 4' };
        }
        total = STUN_HEADER_BYTES + len;
      } else if ((first & 0xf0) === 0x40) {
        total = (CHANNEL_DATA_HEADER_BYTES + this.pending.readUInt16BE(off + 2) + 3) & ~3;
      } else {
        this.pending = Buffer.alloc(0);
        return { ok: false, error: `byte 0x${first.toString(16)} starts neither a STUN nor a ChannelData message` };
      }
      if (left < total) break;
      messages.push(Buffer.from(this.pending.subarray(off, off + total)));
      off += total;
    }
    // Keep only the unfinished tail (bounded by TURN_STREAM_MAX_MESSAGE_BYTES + 3 through the length fields).
    this.pending = off === 0 ? this.pending : Buffer.from(this.pending.subarray(off));
    return { ok: true, messages };
  }

  get bufferedBytes(): number {
    return this.pending.length;
  }
}
