// Mixes the decoded microphones of a room (s16le, 48 kHz, stereo) into one stream, a fixed chunk per tick of the
// compositor's wall clock. Each source has its own queue: it joins the mix once it holds JITTER_MS (decoders hand out
// audio in bursts), falls back to waiting after it runs dry, and is trimmed when it holds more than MAX_QUEUED_MS
// (the publisher's clock runs fast, or the decoder caught up after a stall) so latency stays bounded. A source with
// nothing to give contributes silence: the mix always has exactly the asked length, so the recording keeps the wall
// clock's duration through mutes and gaps. The trim is what keeps lip sync: every run-dry inserts silence and pushes
// that source's audio later, and a queue past MAX_QUEUED_MS gives that delay back (dropping its oldest audio).

export const SAMPLE_RATE = 48_000;
export const CHANNELS = 2;
const BYTES_PER_FRAME = 2 * CHANNELS;
export const JITTER_MS = 60;
export const MAX_QUEUED_MS = 160;

const framesFor = (ms: number): number => Math.round((ms * SAMPLE_RATE) / 1000);

class SourceQueue {
  private chunks: Buffer[] = [];
  /** Bytes queued; the first chunk may be partly consumed (`head`). */
  bytes = 0;
  private head = 0;
  isPlaying = false;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.bytes += b.length;
    const max = framesFor(MAX_QUEUED_MS) * BYTES_PER_FRAME;
    if (this.bytes > max) this.skip(this.bytes - framesFor(JITTER_MS) * BYTES_PER_FRAME);
  }

  private skip(n: number): void {
    // whole frames only, so the channels stay in step
    n -= n % BYTES_PER_FRAME;
    while (n > 0 && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const left = first.length - this.head;
      if (left <= n) {
        this.chunks.shift();
        this.head = 0;
        this.bytes -= left;
        n -= left;
      } else {
        this.head += n;
        this.bytes -= n;
        n = 0;
      }
    }
  }

  /** Adds up to `frames` frames of this source into `acc` (32-bit sums); returns how many it had. */
  addInto(acc: Int32Array, frames: number): number {
    if (!this.isPlaying) {
      if (this.bytes < framesFor(JITTER_MS) * BYTES_PER_FRAME) return 0;
      this.isPlaying = true;
    }
    const samples = Math.min(frames * CHANNELS, Math.floor(this.bytes / 2));
    let i = 0;
    while (i < samples) {
      const first = this.chunks[0]!;
      const n = Math.min(samples - i, (first.length - this.head) >> 1);
      for (let k = 0; k < n; k++) acc[i + k] = acc[i + k]! + first.readInt16LE(this.head + 2 * k);
      i += n;
      this.head += 2 * n;
      this.bytes -= 2 * n;
      if (this.head >= first.length - 1) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    // ran dry: wait for a jitter's worth again before playing on
    if (samples < frames * CHANNELS) this.isPlaying = false;
    return samples / CHANNELS;
  }
}

export class AudioMixer {
  private readonly sources = new Map<string, SourceQueue>();

  /** Decoded PCM of source `id` (a track); unknown ids are added. */
  push(id: string, pcm: Buffer): void {
    let q = this.sources.get(id);
    if (!q) {
      q = new SourceQueue();
      this.sources.set(id, q);
    }
    q.push(pcm);
  }

  remove(id: string): void {
    this.sources.delete(id);
  }

  /** Sources being mixed (ids). */
  get ids(): string[] {
    return [...this.sources.keys()];
  }

  /** The next `frames` frames of the mix (s16le stereo); sources in `exclude` (muted) are drained but not heard. */
  mix(frames: number, exclude?: ReadonlySet<string>): Buffer {
    const acc = new Int32Array(frames * CHANNELS);
    const scratch = exclude && exclude.size > 0 ? new Int32Array(frames * CHANNELS) : undefined;
    for (const [id, q] of this.sources) q.addInto(exclude?.has(id) ? scratch! : acc, frames);
    const out = Buffer.allocUnsafe(frames * BYTES_PER_FRAME);
    for (let i = 0; i < acc.length; i++) {
      const v = acc[i]!;
      out.writeInt16LE(v > 32767 ? 32767 : v < -32768 ? -32768 : v, 2 * i);
    }
    return out;
  }
}
