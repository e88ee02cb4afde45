// Reader for Atrium's `egress:` section of livekit.yaml. LiveKit runs egress as a separate service with its own
// config file; Atrium records inside the server, so the few settings it needs live here (docs/egress.md).
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const EGRESS_KEYS = ['file_base_dir', 'ffmpeg_path'] as const;

export interface EgressSection {
  fileBaseDir: string | undefined;
  ffmpegPath: string | undefined;
}

export function readEgress(r: YamlReader, top: YamlMap): EgressSection {
  const m = r.map(top['egress'], 'egress', EGRESS_KEYS);
  const fileBaseDir = r.str(m, 'egress', 'file_base_dir');
  const ffmpegPath = r.str(m, 'egress', 'ffmpeg_path');
  if (fileBaseDir === '') r.fail('egress.file_base_dir', 'must not be empty');
  if (ffmpegPath === '') r.fail('egress.ffmpeg_path', 'must not be empty');
  return { fileBaseDir, ffmpegPath };
}
