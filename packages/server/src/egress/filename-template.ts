// File names of egress outputs as LiveKit's egress makes them (livekit/egress pkg/config/output_file.go): `{...}`
// placeholders replaced, an empty path or one ending in '/' gets `<track id>-<time>` and the container's extension,
// a wrong known extension is replaced. Paths stay inside the configured base directory.
import { posix } from 'node:path';

export interface TemplateValues {
  roomName: string;
  roomId: string;
  trackId: string;
  /** Lower case, as LiveKit's `strings.ToLower(source.String())`: camera, microphone, screen_share... */
  trackSource: string;
  trackType: 'audio' | 'video';
  publisherIdentity: string;
  now: Date;
}

/** Extensions LiveKit's egress knows (types.FileExtensions): one of these at the end is swapped for the right one. */
const KNOWN_EXTENSIONS = ['.ogg', '.ivf', '.mp4', '.webm', '.ts', '.m3u8', '.json', '.txt', '.jpeg', '.png'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Go's "2006-01-02T150405" in UTC. */
export function formatTemplateTime(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/** Go's "20060102150405" plus milliseconds (LiveKit's `{utc}`). */
function formatUtc(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

export function replacePlaceholders(template: string, v: TemplateValues): string {
  const table: Record<string, string> = {
    '{room_name}': v.roomName,
    '{room_id}': v.roomId,
    '{track_id}': v.trackId,
    '{track_source}': v.trackSource,
    '{track_type}': v.trackType,
    '{publisher_identity}': v.publisherIdentity,
    '{time}': formatTemplateTime(v.now),
    '{utc}': formatUtc(v.now),
  };
  return template.replace(/\{[a-z_]+\}/g, (m) => table[m] ?? m);
}

/**
 * Cleans a requested path as LiveKit does (normalized, leading '../' and '/' dropped, '.' and '' mean no path), so
 * it never leaves the base directory. Keeps a trailing '/' (a directory: the name is generated).
 */
export function cleanRelativePath(filepath: string): string {
  const isDir = filepath.endsWith('/');
  let p = posix.normalize(filepath.replace(/\\/g, '/'));
  while (p.startsWith('../')) p = p.slice(3);
  p = p.replace(/^\/+/, '');
  if (p === '' || p === '.' || p === '..' || p === './') return '';
  return isDir && !p.endsWith('/') ? `${p}/` : p;
}

/**
 * The output's path relative to the base directory, placeholders replaced and `extension` ('.ogg') enforced. A
 * generated name starts with `stem`: the track id for a track egress, the room name for a composite (as LiveKit).
 */
export function outputFilename(requested: string, extension: string, v: TemplateValues, stem = v.trackId): string {
  let p = cleanRelativePath(replacePlaceholders(requested, v));
  if (p === '' || p.endsWith('/')) return `${p}${stem}-${formatTemplateTime(v.now)}${extension}`;
  if (p.endsWith(extension)) return p;
  const dot = p.lastIndexOf('.');
  if (dot > p.lastIndexOf('/') && KNOWN_EXTENSIONS.includes(p.slice(dot).toLowerCase())) p = p.slice(0, dot);
  return `${p}${extension}`;
}
