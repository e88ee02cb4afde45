// What happens to an egress's outputs around the encoder: while it runs, the HLS playlist is watched (the live
// playlist rewritten with the last segments, each finished segment uploaded at once when the output has an upload);
// after it finished, the file, playlists and images are measured and uploaded, and the results built. Upload
// failures are the egress's error (the local files stay). Shared by every egress kind (egress-outputs.ts plans).
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join as joinPath, posix } from 'node:path';
import type { Logger } from '@atrium/webrtc';
import { livePlaylist, parsePlaylist } from './egress-outputs.js';
import type { ImagePlan, OutputPlan, SegmentsResult } from './egress-outputs.js';
import { S3Uploader } from './s3-upload.js';

/** Segments in the live playlist. */
export const LIVE_PLAYLIST_WINDOW = 3;
const WATCH_INTERVAL_MS = 1_000;

export interface OutputResults {
  file?: { sizeBytes: number; location: string };
  segments?: SegmentsResult;
  imageCount?: number;
  /** The first upload (or output) failure. */
  error?: string;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** The images an ImagePlan produced, as paths relative to its base directory. */
export async function listImages(plan: ImagePlan): Promise<string[]> {
  const dir = joinPath(plan.localDir, dirname(plan.prefix));
  const stem = basename(plan.prefix);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const re = plan.suffix === 'overwrite' ? new RegExp(`^${escapeRe(stem)}\\.jpeg$`) : new RegExp(`^${escapeRe(stem)}_\\d+\\.jpeg$`);
  return names.filter((n) => re.test(n)).sort().map((n) => posix.join(posix.dirname(plan.prefix), n));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class OutputCollector {
  private readonly plan: OutputPlan;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private readonly uploaded = new Set<string>();
  private segmentUploader: S3Uploader | undefined;
  private queue: Promise<void> = Promise.resolve();
  private error: string | undefined;
  private lastPlaylist = '';

  constructor(plan: OutputPlan, logger: Logger) {
    this.plan = plan;
    this.log = logger;
    if (plan.segments?.upload) this.segmentUploader = new S3Uploader(plan.segments.upload);
  }

  /** Starts watching the playlist (no-op without segments). */
  start(): void {
    if (!this.plan.segments) return;
    this.timer = setInterval(() => {
      this.queue = this.queue.then(async () => {
        await this.syncSegments(false);
      }).catch(() => {});
    }, WATCH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Whether an upload already failed (the egress should end). */
  get failure(): string | undefined {
    return this.error;
  }

  private fail(what: string, err: unknown): void {
    const msg = `${what}: ${(err as Error).message ?? String(err)}`;
    this.log.warn({ err: msg }, 'egress upload failed');
    this.error ??= msg;
  }

  /** Reads the playlist, rewrites the live playlist and uploads segments not uploaded yet. */
  private async syncSegments(isEnd: boolean): Promise<SegmentsResult | undefined> {
    const sp = this.plan.segments;
    if (!sp) return undefined;
    const playlistPath = joinPath(sp.localDir, sp.playlistName);
    let text: string;
    try {
      text = await readFile(playlistPath, 'utf8');
    } catch {
      return undefined;
    }
    const segments = parsePlaylist(text);
    const relDir = posix.dirname(sp.playlistName);
    const rel = (name: string): string => (relDir === '.' ? name : posix.join(relDir, name));
    const livePath = sp.livePlaylistName !== undefined ? joinPath(sp.localDir, sp.livePlaylistName) : undefined;
    if (livePath && (text !== this.lastPlaylist || isEnd)) await writeAtomic(livePath, livePlaylist(segments, LIVE_PLAYLIST_WINDOW, isEnd && text.includes('#EXT-X-ENDLIST')));
    const changed = text !== this.lastPlaylist;
    this.lastPlaylist = text;
    let sizeBytes = 0;
    for (const s of segments) {
      const local = joinPath(sp.localDir, rel(s.name));
      sizeBytes += await sizeOf(local);
      if (this.segmentUploader && !this.uploaded.has(s.name) && this.error === undefined) {
        try {
          await this.segmentUploader.put(local, rel(s.name));
          this.uploaded.add(s.name);
        } catch (err) {
          this.fail(`upload of ${rel(s.name)}`, err);
        }
      }
    }
    let playlistLocation = playlistPath;
    let livePlaylistLocation = livePath ?? '';
    if (this.segmentUploader && this.error === undefined && (changed || isEnd)) {
      try {
        playlistLocation = await this.segmentUploader.put(playlistPath, sp.playlistName);
        if (livePath && sp.livePlaylistName) livePlaylistLocation = await this.segmentUploader.put(livePath, sp.livePlaylistName);
      } catch (err) {
        this.fail(`upload of ${sp.playlistName}`, err);
      }
    }
    return {
      segmentCount: segments.length,
      durationMs: segments.reduce((a, s) => a + s.durationSec * 1000, 0),
      sizeBytes,
      playlistLocation,
      livePlaylistLocation,
    };
  }

  /** After the encoder exited: final playlists, uploads, sizes. */
  async finish(): Promise<OutputResults> {
    clearInterval(this.timer);
    await this.queue;
    const out: OutputResults = {};
    const { file, image } = this.plan;
    if (file) {
      const sizeBytes = await sizeOf(file.localPath);
      let location = file.localPath;
      if (file.upload && sizeBytes > 0 && this.error === undefined) {
        const up = new S3Uploader(file.upload);
        try {
          location = await up.put(file.localPath, file.filename);
        } catch (err) {
          this.fail(`upload of ${file.filename}`, err);
        } finally {
          up.close();
        }
      }
      out.file = { sizeBytes, location };
    }
    if (this.plan.segments) {
      const r = await this.syncSegments(true);
      if (r) out.segments = r;
      this.segmentUploader?.close();
    }
    if (image) {
      const images = await listImages(image);
      out.imageCount = images.length;
      if (image.upload && this.error === undefined) {
        const up = new S3Uploader(image.upload);
        for (const rel of images) {
          try {
            await up.put(joinPath(image.localDir, rel), rel);
          } catch (err) {
            this.fail(`upload of ${rel}`, err);
            break;
          }
        }
        up.close();
      }
    }
    if (this.error !== undefined) out.error = this.error;
    return out;
  }
}
