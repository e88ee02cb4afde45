// The `ingress:` section of livekit.yaml: LiveKit's `whip_base_url` (the URL IngressInfo.url gives WHIP senders) and
// `rtmp_base_url` (refused: no RTMP listener yet), and Atrium's `max_active_streams` (live ingress streams at once).
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const INGRESS_KEYS = ['whip_base_url', 'rtmp_base_url', 'max_active_streams'] as const;

/** Live ingress streams a node takes at once by default: each is a publisher in a room, cheap without transcoding. */
export const DEFAULT_MAX_ACTIVE_INGRESS_STREAMS = 50;

export interface IngressSection {
  whipBaseUrl: string | undefined;
  rtmpBaseUrl: string | undefined;
  maxActiveStreams: number | undefined;
}

export function readIngress(r: YamlReader, top: YamlMap): IngressSection {
  const m = r.map(top['ingress'], 'ingress', INGRESS_KEYS);
  let whipBaseUrl = r.str(m, 'ingress', 'whip_base_url');
  if (whipBaseUrl !== undefined) {
    if (!/^https?:\/\/[^/]+/i.test(whipBaseUrl)) {
      r.fail('ingress.whip_base_url', `must be an http(s) URL such as https://example.com/w, got ${JSON.stringify(whipBaseUrl)}`);
      whipBaseUrl = undefined;
    }
  }
  return {
    whipBaseUrl,
    rtmpBaseUrl: r.str(m, 'ingress', 'rtmp_base_url'),
    maxActiveStreams: r.int(m, 'ingress', 'max_active_streams', 0, 100_000),
  };
}
