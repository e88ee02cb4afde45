// What a user would check in a recording, with Debian's ffprobe/ffmpeg as the outside oracle: the streams and
// duration of a file, its audio decoded to PCM, its video decoded frame by frame (sizes and luma spread).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAX_BUFFER = 256 << 20;

export interface ProbedFile {
  formatName: string;
  durationSec: number;
  sizeBytes: number;
  streams: { codecType: string; codecName: string; width?: number; height?: number; sampleRate?: number; channels?: number; startTimeSec?: number; durationSec?: number }[];
}

export async function probeFile(path: string): Promise<ProbedFile> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path], { maxBuffer: MAX_BUFFER });
  const j = JSON.parse(stdout) as {
    format: { format_name: string; duration?: string; size?: string };
    streams: { codec_type: string; codec_name: string; width?: number; height?: number; sample_rate?: string; channels?: number; start_time?: string; duration?: string }[];
  };
  return {
    formatName: j.format.format_name,
    durationSec: Number(j.format.duration ?? NaN),
    sizeBytes: Number(j.format.size ?? NaN),
    streams: j.streams.map((s) => ({
      codecType: s.codec_type, codecName: s.codec_name,
      ...(s.width !== undefined ? { width: s.width } : {}),
      ...(s.height !== undefined ? { height: s.height } : {}),
      ...(s.sample_rate !== undefined ? { sampleRate: Number(s.sample_rate) } : {}),
      ...(s.channels !== undefined ? { channels: s.channels } : {}),
      ...(s.start_time !== undefined ? { startTimeSec: Number(s.start_time) } : {}),
      ...(s.duration !== undefined ? { durationSec: Number(s.duration) } : {}),
    })),
  };
}

/** The file's audio decoded by ffmpeg to mono 16-bit PCM at `sampleRate`. */
export async function decodeAudio(path: string, sampleRate = 48_000): Promise<Int16Array> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-vn', '-ac', '1', '-ar', String(sampleRate), '-f', 's16le', '-'], {
    encoding: 'buffer', maxBuffer: MAX_BUFFER,
  });
  const buf = stdout as unknown as Buffer;
  return new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + (buf.length & ~1)));
}

export interface DecodedVideo {
  frames: number;
  /** 'WxH' -> frames of that size. */
  sizes: Record<string, number>;
  /** Standard deviation of the luma of the middle frame (a blank frame is near 0). */
  middleLumaStdDev: number;
}

/** Decodes every video frame (ffprobe -show_frames) and reads the middle one's luma plane. */
export async function decodeVideo(path: string): Promise<DecodedVideo> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=width,height', '-of', 'csv=p=0', path], { maxBuffer: MAX_BUFFER });
  const sizes: Record<string, number> = {};
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const l of lines) {
    const [w, h] = l.split(',');
    const key = `${w}x${h}`;
    sizes[key] = (sizes[key] ?? 0) + 1;
  }
  const middle = Math.floor(lines.length / 2);
  const { stdout: gray } = await run('ffmpeg', ['-v', 'error', '-i', path, '-vf', `select=eq(n\\,${middle})`, '-frames:v', '1', '-pix_fmt', 'gray', '-f', 'rawvideo', '-'], {
    encoding: 'buffer', maxBuffer: MAX_BUFFER,
  });
  const px = gray as unknown as Buffer;
  let sum = 0;
  for (const v of px) sum += v;
  const mean = px.length > 0 ? sum / px.length : 0;
  let sq = 0;
  for (const v of px) sq += (v - mean) ** 2;
  return { frames: lines.length, sizes, middleLumaStdDev: px.length > 0 ? Math.sqrt(sq / px.length) : 0 };
}

/** The video frame shown at `atSec`, decoded to RGB24 (`width * height * 3` bytes), and its size. */
export async function decodeFrameRgb(path: string, atSec: number): Promise<{ width: number; height: number; rgb: Buffer }> {
  const probed = await probeFile(path);
  const v = probed.streams.find((s) => s.codecType === 'video');
  if (!v?.width || !v.height) throw new Error(`${path} has no video stream`);
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', atSec.toFixed(3), '-i', path, '-frames:v', '1', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'], {
    encoding: 'buffer', maxBuffer: MAX_BUFFER,
  });
  return { width: v.width, height: v.height, rgb: stdout as unknown as Buffer };
}

/** The mean brightness (0-255) of every video frame, in order (frame i is at i / fps of a constant-rate file). */
export async function frameBrightness(path: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-an', '-vf', 'scale=16:9,format=gray', '-f', 'rawvideo', '-'], { encoding: 'buffer', maxBuffer: MAX_BUFFER });
  const px = stdout as unknown as Buffer;
  const out: number[] = [];
  for (let i = 0; i + 144 <= px.length; i += 144) {
    let sum = 0;
    for (let k = 0; k < 144; k++) sum += px[i + k]!;
    out.push(sum / 144);
  }
  return out;
}
