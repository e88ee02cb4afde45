// Reader for Atrium's `egress:` section of livekit.yaml. LiveKit runs egress as a separate service with its own
// config file; Atrium records inside the server, so the few settings it needs live here (docs/egress.md).
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const EGRESS_KEYS = ['file_base_dir', 'ffmpeg_path', 's3'] as const;
/** LiveKit egress's `s3:` storage keys (the default upload of outputs that name none). */
export const EGRESS_S3_KEYS = ['access_key', 'secret', 'session_token', 'region', 'endpoint', 'bucket', 'force_path_style'] as const;

export interface EgressS3Config {
  accessKey: string;
  secret: string;
  sessionToken: string;
  region: string;
  endpoint: string;
  bucket: string;
  forcePathStyle: boolean;
}

export interface EgressSection {
  fileBaseDir: string | undefined;
  ffmpegPath: string | undefined;
  s3: EgressS3Config | undefined;
}

export function readEgress(r: YamlReader, top: YamlMap): EgressSection {
  const m = r.map(top['egress'], 'egress', EGRESS_KEYS);
  const fileBaseDir = r.str(m, 'egress', 'file_base_dir');
  const ffmpegPath = r.str(m, 'egress', 'ffmpeg_path');
  if (fileBaseDir === '') r.fail('egress.file_base_dir', 'must not be empty');
  if (ffmpegPath === '') r.fail('egress.ffmpeg_path', 'must not be empty');
  let s3: EgressS3Config | undefined;
  const sm = m?.['s3'] !== undefined ? r.map(m['s3'], 'egress.s3', EGRESS_S3_KEYS) : undefined;
  if (sm) {
    const str = (k: (typeof EGRESS_S3_KEYS)[number]): string => r.str(sm, 'egress.s3', k) ?? '';
    s3 = {
      accessKey: str('access_key'), secret: str('secret'), sessionToken: str('session_token'), region: str('region'),
      endpoint: str('endpoint'), bucket: str('bucket'), forcePathStyle: r.bool(sm, 'egress.s3', 'force_path_style') ?? false,
    };
    if (s3.bucket === '') r.fail('egress.s3.bucket', 'is required');
    if (s3.endpoint !== '' && !/^https?:\/\/[^/]/.test(s3.endpoint)) r.fail('egress.s3.endpoint', 'must be an http(s):// URL');
  }
  return { fileBaseDir, ffmpegPath, s3 };
}
