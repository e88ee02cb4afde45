// The load shapes of the compare bench, parsed from `--shapes`: `1v:100` (1 video publisher, 720p simulcast in 3
// layers -> 100 subscribers), `10a:1000` (10 audio speakers -> 1,000 listeners), `25m` (a 25-person meeting:
// everyone publishes one 360p video layer and subscribes to everyone else). Pure.
import { videoLayers, frameSizes, OPUS_FRAME_MS } from '@atrium/cli/load-test/media-plan.js';
import { RtpStreamWriter, Vp8Packetizer } from '@atrium/cli/load-test/packetizer.js';
import type { VideoLayerPlan } from '@atrium/cli/load-test/media-plan.js';

export interface Shape {
  key: string;
  label: string;
  videoPublishers: number;
  audioPublishers: number;
  /** Participants that only subscribe (to every track). */
  subscribers: number;
  /** Meeting members: each publishes `meetingVideo` and subscribes to every other member. */
  meeting: number;
  publisherVideo: readonly VideoLayerPlan[];
  meetingVideo: readonly VideoLayerPlan[];
}

/** The table of issue 10. */
export const FULL_SHAPES = '1v:10,1v:100,1v:500,10a:100,10a:1000,25m';
/** A tiny run that shows the harness works (both servers, video and audio) in well under a minute. */
export const QUICK_SHAPES = '1v:2,2a:3';

export function parseShapes(text: string): Shape[] {
  return text.split(',').map((raw) => {
    const t = raw.trim();
    const meeting = /^(\d+)m$/.exec(t);
    const base = { key: t, videoPublishers: 0, audioPublishers: 0, subscribers: 0, meeting: 0, publisherVideo: videoLayers('high', true), meetingVideo: videoLayers('medium', false) };
    if (meeting) {
      const n = Number(meeting[1]);
      if (n < 2) throw new Error(`--shapes: a meeting needs at least 2 people ('${t}')`);
      return { ...base, meeting: n, label: `${n}-person meeting (360p each, all subscribe)` };
    }
    const m = /^(\d+)([va]):(\d+)$/.exec(t);
    if (!m) throw new Error(`--shapes: '${t}' is not like 1v:100, 10a:1000 or 25m`);
    const pubs = Number(m[1]);
    const subs = Number(m[3]);
    if (pubs < 1 || subs < 1) throw new Error(`--shapes: '${t}' needs at least one publisher and one subscriber`);
    return m[2] === 'v'
      ? { ...base, videoPublishers: pubs, subscribers: subs, label: `${pubs} video (720p simulcast, 3 layers) -> ${subs}` }
      : { ...base, audioPublishers: pubs, subscribers: subs, label: `${pubs} audio -> ${subs}` };
  });
}

/** Subscriptions (subscriber, track) the shape should end up with when everyone joined. */
export function expectedSubscriptions(s: Shape): number {
  return (s.videoPublishers + s.audioPublishers) * s.subscribers + s.meeting * (s.meeting - 1);
}

/** RTP packets per second one layer sends, counted by packetizing one group of pictures with the load tester's code. */
export function layerPacketRate(layer: VideoLayerPlan): number {
  const writer = new RtpStreamWriter({ ssrc: 1, payloadType: 96, extensions: Buffer.alloc(0) });
  const packetizer = new Vp8Packetizer(layer.width, layer.height);
  const sizes = frameSizes(layer, 1);
  let packets = 0;
  sizes.forEach((frameBytes, i) => (packets += packetizer.frame(writer, { frameBytes, isKeyframe: i === 0, timestamp: 0, sentAtMs: 0 }).length));
  return packets / (sizes.length / layer.fps);
}

/**
 * Packets per second the subscribers of a shape receive when every subscription gets the top video layer (what
 * both servers are asked for here): the rate the load generator must take in and the servers must send.
 */
export function nominalForwardRate(s: Shape): number {
  const top = (layers: readonly VideoLayerPlan[]): number => layerPacketRate(layers[layers.length - 1]!);
  const audio = 1000 / OPUS_FRAME_MS;
  return s.videoPublishers * s.subscribers * top(s.publisherVideo) + s.audioPublishers * s.subscribers * audio + s.meeting * (s.meeting - 1) * top(s.meetingVideo);
}
