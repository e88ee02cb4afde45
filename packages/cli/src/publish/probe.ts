// What a media file holds, from ffprobe: its first video stream's size and frame rate, whether it has audio, and its
// duration. `atrium publish` publishes a camera and/or a microphone accordingly.
import { execFile } from 'node:child_process';
import { CliError } from '../command.js';

export interface MediaProbe {
  video?: { width: number; height: number; fps: number };
  hasAudio: boolean;
  /** Seconds; undefined for live inputs. */
  durationSec?: number;
}

interface ProbeJson {
  streams?: { codec_type?: string; width?: number; height?: number; avg_frame_rate?: string; r_frame_rate?: string }[];
  format?: { duration?: string };
}

/** '30000/1001' -> 29.97; 0 for anything unreadable. */
export function parseRate(rate: string | undefined): number {
  if (rate === undefined) return 0;
  const [n, d] = rate.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return 0;
  const v = d === undefined ? n : d > 0 ? n / d : 0;
  return Number.isFinite(v) ? v : 0;
}

/** Reads ffprobe's JSON (pure, unit-tested). */
export function readProbe(json: ProbeJson): MediaProbe {
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && (s.width ?? 0) > 0);
  const duration = Number(json.format?.duration);
  return {
    ...(v ? { video: { width: v.width!, height: v.height!, fps: parseRate(v.avg_frame_rate) || parseRate(v.r_frame_rate) || 30 } } : {}),
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    ...(Number.isFinite(duration) && duration > 0 ? { durationSec: duration } : {}),
  };
}

export function probeMedia(input: string, ffprobe = process.env['ATRIUM_FFPROBE'] ?? 'ffprobe'): Promise<MediaProbe> {
  return new Promise((resolve, reject) => {
    execFile(ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_type,width,height,avg_frame_rate,r_frame_rate:format=duration', '-of', 'json', input], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        return reject(new CliError(missing ? `${ffprobe} not found: atrium publish needs ffmpeg (npm run setup:system installs it)` : `cannot read ${input}: ${stderr.trim().split('\n').at(-1) ?? err.message}`));
      }
      try {
        resolve(readProbe(JSON.parse(stdout) as ProbeJson));
      } catch {
        reject(new CliError(`cannot read ${input}: ffprobe gave no stream list`));
      }
    });
  });
}
