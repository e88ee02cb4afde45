// The `ingress:` section of livekit.yaml: LiveKit's `whip_base_url` and `rtmp_base_url` (the URLs IngressInfo.url gives
// WHIP and RTMP senders), `rtmp_port` (LiveKit ingress's key: where RTMP publishers connect), and Atrium's
// `max_active_streams` (live ingress streams at once).
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const INGRESS_KEYS = ['whip_base_url', 'rtmp_base_url', 'rtmp_port', 'max_active_streams'] as const;

/** LiveKit's RTMP port: where RTMP is served in development, and when rtmp_base_url is given without rtmp_port. */
export const DEFAULT_RTMP_PORT = 1935;

/** Live ingress streams a node takes at once by default: each is a publisher in a room, cheap without transcoding. */
export const DEFAULT_MAX_ACTIVE_INGRESS_STREAMS = 50;

export interface IngressSection {
  whipBaseUrl: string | undefined;
  rtmpBaseUrl: string | undefined;
  rtmpPort: number | undefined;
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
  let rtmpBaseUrl = r.str(m, 'ingress', 'rtmp_base_url');
  if (rtmpBaseUrl !== undefined && !/^rtmps?:\/\/[^/]+/i.test(rtmpBaseUrl)) {
    r.fail('ingress.rtmp_base_url', `must be an rtmp URL such as rtmp://example.com/x, got ${JSON.stringify(rtmpBaseUrl)}`);
    rtmpBaseUrl = undefined;
  }
  let rtmpPort = r.int(m, 'ingress', 'rtmp_port', 0, 65_535);
  if (rtmpPort === undefined && rtmpBaseUrl !== undefined) rtmpPort = DEFAULT_RTMP_PORT;
  return {
    whipBaseUrl,
    rtmpBaseUrl,
    rtmpPort,
    maxActiveStreams: r.int(m, 'ingress', 'max_active_streams', 0, 100_000),
  };
}
