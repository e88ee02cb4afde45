// A minimal live Matroska stream of raw media for the encoder's stdin: I420 video (V_UNCOMPRESSED) and s16le PCM
// (A_PCM/INT/LIT), each block with its own timestamp. Timestamps are why: a frame the compositor could not hand over
// (the encoder behind) is simply absent, and the encoder repeats the previous one in its place (-fps_mode cfr), so the
// picture never runs late against the audio, which raw fixed-rate pipes cannot express.
// Matroska/EBML (RFC 8794, the Matroska specification): the Segment and Clusters have unknown sizes (a live stream),
// a millisecond timestamp scale, a new Cluster at least every CLUSTER_MS (blocks carry a signed 16-bit offset).

const CLUSTER_MS = 5_000;

/** An EBML variable-size integer of the smallest length that holds `n` (all-ones values are reserved). */
function vint(n: number): Buffer {
  for (let len = 1; len <= 8; len++) {
    if (n < 2 ** (7 * len) - 1) {
      const b = Buffer.alloc(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        b[i] = v % 256;
        v = Math.floor(v / 256);
      }
      b[0]! |= 1 << (8 - len);
      return b;
    }
  }
  throw new Error(`EBML size too large: ${n}`);
}

/** An element: its ID (with its length marker, as written in the specification), size, data. */
function element(id: number, data: Buffer | Buffer[]): Buffer {
  const body = Array.isArray(data) ? Buffer.concat(data) : data;
  const idBytes = Buffer.from(id.toString(16).padStart(id > 0xffffff ? 8 : id > 0xffff ? 6 : id > 0xff ? 4 : 2, '0'), 'hex');
  return Buffer.concat([idBytes, vint(body.length), body]);
}

function uint(id: number, v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  let i = 0;
  while (i < 7 && b[i] === 0) i++;
  return element(id, b.subarray(i));
}

const str = (id: number, s: string): Buffer => element(id, Buffer.from(s, 'ascii'));
const float = (id: number, v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return element(id, b);
};
/** An element whose size is "unknown": it lasts until the stream ends or a sibling starts (live streams). */
const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export interface MkvTracks {
  video?: { width: number; height: number };
  audio?: { sampleRate: number; channels: number };
}

export class MkvWriter {
  /** Track numbers: video 1 and audio 2 (or audio 1 alone). */
  readonly videoTrack: number | undefined;
  readonly audioTrack: number | undefined;
  private clusterMs = -Infinity;

  constructor(private readonly tracks: MkvTracks) {
    this.videoTrack = tracks.video ? 1 : undefined;
    this.audioTrack = tracks.audio ? (tracks.video ? 2 : 1) : undefined;
  }

  /** The EBML header, the Segment's start, Info and Tracks. Written once, first. */
  header(): Buffer {
    const ebml = element(0x1a45dfa3, [
      uint(0x4286, 1), uint(0x42f7, 1), uint(0x42f2, 4), uint(0x42f3, 8), str(0x4282, 'matroska'), uint(0x4287, 4), uint(0x4285, 2),
    ]);
    const info = element(0x1549a966, [uint(0x2ad7b1, 1_000_000), str(0x4d80, 'atrium'), str(0x5741, 'atrium')]);
    const entries: Buffer[] = [];
    const { video, audio } = this.tracks;
    if (video && this.videoTrack !== undefined) {
      entries.push(element(0xae, [
        uint(0xd7, this.videoTrack), uint(0x73c5, this.videoTrack), uint(0x83, 1), str(0x86, 'V_UNCOMPRESSED'), uint(0x9c, 0),
        element(0xe0, [uint(0xb0, video.width), uint(0xba, video.height), element(0x2eb524, Buffer.from('I420', 'ascii'))]),
      ]));
    }
    if (audio && this.audioTrack !== undefined) {
      entries.push(element(0xae, [
        uint(0xd7, this.audioTrack), uint(0x73c5, this.audioTrack), uint(0x83, 2), str(0x86, 'A_PCM/INT/LIT'), uint(0x9c, 0),
        element(0xe1, [float(0xb5, audio.sampleRate), uint(0x9f, audio.channels), uint(0x6264, 16)]),
      ]));
    }
    const segmentStart = Buffer.concat([Buffer.from([0x18, 0x53, 0x80, 0x67]), UNKNOWN_SIZE]);
    return Buffer.concat([ebml, segmentStart, info, element(0x1654ae6b, entries)]);
  }

  /** One frame of `track` at `timeMs` (not decreasing per track), starting a new Cluster when due. */
  block(track: number, timeMs: number, data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const t = Math.round(timeMs);
    if (t - this.clusterMs >= CLUSTER_MS || t < this.clusterMs) {
      this.clusterMs = t;
      out.push(Buffer.concat([Buffer.from([0x1f, 0x43, 0xb6, 0x75]), UNKNOWN_SIZE]), uint(0xe7, t));
    }
    // SimpleBlock: track number (vint), signed 16-bit offset from the Cluster's time, flags (key frame)
    const head = Buffer.alloc(4);
    head[0] = 0x80 | track;
    head.writeInt16BE(t - this.clusterMs, 1);
    head[3] = 0x80;
    out.push(Buffer.from([0xa3]), vint(head.length + data.length), head, data);
    return out;
  }
}
