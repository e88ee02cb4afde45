// `atrium load-test` flags, as LiveKit's `lk perf load-test` names them where it has them (--room, --duration,
// --video-publishers/--publishers, --audio-publishers, --subscribers, --identity-prefix, --video-resolution,
// --video-codec, --num-per-second, --no-simulcast), plus ours (--simulcast, --max-loss, --json). Pure.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../command.js';
import type { FlagValues, OptionsConfig } from '../command.js';
import { boolFlag, optionalDurationSec, optionalInteger, stringFlag } from '../args.js';
import type { VideoResolution } from './media-plan.js';
import { LAYOUTS, isLayout } from './layout.js';
import type { Layout } from './layout.js';
import type { UdpRecvPreference } from '@atrium/webrtc/udp-recv.js';

/** Subscribers authenticate and decrypt one packet in this many unless told otherwise (--decrypt-every). */
export const DEFAULT_DECRYPT_EVERY = 16;

export const LOAD_TEST_OPTIONS = {
  room: { type: 'string' },
  duration: { type: 'string' },
  'video-publishers': { type: 'string' },
  publishers: { type: 'string' },
  'audio-publishers': { type: 'string' },
  subscribers: { type: 'string' },
  'identity-prefix': { type: 'string' },
  'video-resolution': { type: 'string' },
  'video-codec': { type: 'string' },
  'num-per-second': { type: 'string' },
  simulcast: { type: 'boolean' },
  'no-simulcast': { type: 'boolean' },
  'max-loss': { type: 'string' },
  'decrypt-every': { type: 'string' },
  'udp-recv': { type: 'string' },
  'simulate-speakers': { type: 'boolean' },
  talkers: { type: 'string' },
  layout: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies OptionsConfig;

export const LOAD_TEST_HELP: readonly (readonly [string, string])[] = [
  ['--room NAME', 'the room (default: a random name)'],
  ['--duration TIME', 'how long media flows once everyone joined: 90, 30s, 5m (default: until Ctrl-C)'],
  ['--video-publishers N', 'participants publishing a camera (alias --publishers)'],
  ['--audio-publishers N', 'participants publishing a microphone (Opus, 20 ms)'],
  ['--subscribers N', 'participants subscribing to every track (default with no counts: 1 video publisher, 1 subscriber)'],
  ['--identity-prefix P', 'identity prefix of the simulated participants (default: a random one)'],
  ['--video-resolution Q', 'high (720p), medium (360p) or low (180p) (default high)'],
  ['--video-codec CODEC', 'vp8 (the only one so far)'],
  ['--simulcast, --no-simulcast', 'send the layers below the resolution too (default on: q 180p, h 360p, f 720p)'],
  ['--num-per-second N', 'participants started per second (default 5)'],
  ['--layout L', `what each subscriber watches, as lk's: speaker (6 participants, one video at 1280x720, five at 320x180), 3x3 (9 at 640x360), 4x4 or 5x5 (16 or 25 at 320x180); the tracks of other publishers are disabled (default: every track, no size given)`],
  ['--simulate-speakers', "as lk's: every 6 s a random publisher asks the server to simulate it speaking for 5 s (SimulateScenario speaker_update); the subscribers must see speaker updates"],
  ['--talkers N', 'how many audio publishers talk at a time, chosen at random every 6 s; the others are silent and send Opus DTX (one small frame every 400 ms, level of silence), as browsers do (default: all talk)'],
  ['--max-loss PCT', 'fail (exit 1) when packet loss is above this percentage (default 1)'],
  ['--decrypt-every N', `subscribers authenticate and decrypt 1 packet in N (latency is measured on those; loss, bitrate, frames on every packet's clear header); 1 = all (default ${DEFAULT_DECRYPT_EVERY})`],
  ['--udp-recv R', "how the simulated participants' sockets read: auto (recvmmsg batches when the native module is built, else node:dgram), native or dgram (default auto)"],
  ['--json', 'print the results as one JSON document'],
];

export interface LoadTestOptions {
  room: string;
  /** 0: until interrupted. */
  durationSec: number;
  videoPublishers: number;
  audioPublishers: number;
  subscribers: number;
  identityPrefix: string;
  videoResolution: VideoResolution;
  simulcast: boolean;
  numPerSecond: number;
  maxLossPct: number;
  isJson: boolean;
  /**
   * Subscribers authenticate and decrypt one packet in this many per stream, the rest are counted from their clear
   * RTP header (1: every packet); absent: DEFAULT_DECRYPT_EVERY.
   */
  decryptEvery?: number;
  /** --layout: what each subscriber watches (absent: every track at no particular size). */
  layout?: Layout;
  /** --simulate-speakers: random publishers ask the server for simulated speaker updates. */
  simulateSpeakers?: boolean;
  /** --talkers: audio publishers talking at a time (the rest send DTX); absent: all. */
  talkers?: number;
  /** --udp-recv: how the tester's sockets read (absent: auto). */
  udpRecv?: UdpRecvPreference;
}

function positiveNumber(values: FlagValues, flag: string, fallback: number, opts: { allowZero: boolean }): number {
  const v = stringFlag(values, flag);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (!opts.allowZero && n === 0)) {
    throw new UsageError(`--${flag}: '${v}' is not a number${opts.allowZero ? ' >= 0' : ' > 0'}`);
  }
  return n;
}

/** Options from the flags; UsageError on anything wrong. */
export function parseLoadTestOptions(values: FlagValues, random: () => string = () => randomBytes(3).toString('hex')): LoadTestOptions {
  const video = optionalInteger(values, 'video-publishers');
  const alias = optionalInteger(values, 'publishers');
  if (video !== undefined && alias !== undefined && video !== alias) throw new UsageError('--video-publishers and --publishers disagree; give one');
  let videoPublishers = video ?? alias ?? 0;
  const audioPublishers = optionalInteger(values, 'audio-publishers') ?? 0;
  let subscribers = optionalInteger(values, 'subscribers') ?? 0;
  if (videoPublishers === 0 && audioPublishers === 0 && subscribers === 0) {
    videoPublishers = 1; // as lk: nothing asked for means one publisher and one subscriber
    subscribers = 1;
  }
  const resolution = (stringFlag(values, 'video-resolution') ?? 'high').toLowerCase();
  if (resolution !== 'high' && resolution !== 'medium' && resolution !== 'low') {
    throw new UsageError(`--video-resolution: '${resolution}' is not high, medium or low`);
  }
  const codec = stringFlag(values, 'video-codec')?.toLowerCase();
  if (codec !== undefined && codec !== 'vp8') throw new UsageError(`--video-codec: '${codec}' is not supported yet (vp8 only)`);
  if (boolFlag(values, 'simulcast') && boolFlag(values, 'no-simulcast')) throw new UsageError('--simulcast and --no-simulcast contradict each other');
  const maxLossPct = positiveNumber(values, 'max-loss', 1, { allowZero: true });
  if (maxLossPct > 100) throw new UsageError(`--max-loss: '${maxLossPct}' is a percentage, at most 100`);
  const room = stringFlag(values, 'room');
  if (room !== undefined && room.trim() === '') throw new UsageError('--room: empty name');
  const prefix = stringFlag(values, 'identity-prefix');
  const layout = stringFlag(values, 'layout');
  if (layout !== undefined && !isLayout(layout)) throw new UsageError(`--layout: '${layout}' is not one of ${LAYOUTS.join(', ')}`);
  const udpRecv = stringFlag(values, 'udp-recv');
  if (udpRecv !== undefined && udpRecv !== 'auto' && udpRecv !== 'dgram' && udpRecv !== 'native') {
    throw new UsageError(`--udp-recv: '${udpRecv}' is not one of auto, dgram, native`);
  }
  const talkers = optionalInteger(values, 'talkers');
  if (talkers !== undefined && talkers > audioPublishers) {
    throw new UsageError(`--talkers: ${talkers} is more than the ${audioPublishers} audio publishers`);
  }
  return {
    room: room ?? `load-test-${random()}`,
    durationSec: optionalDurationSec(values, 'duration') ?? 0,
    videoPublishers,
    audioPublishers,
    subscribers,
    identityPrefix: prefix !== undefined && prefix !== '' ? prefix : `lt-${random()}`,
    videoResolution: resolution,
    simulcast: !boolFlag(values, 'no-simulcast'),
    numPerSecond: positiveNumber(values, 'num-per-second', 5, { allowZero: false }),
    maxLossPct,
    isJson: boolFlag(values, 'json'),
    decryptEvery: optionalInteger(values, 'decrypt-every', 1) ?? DEFAULT_DECRYPT_EVERY,
    ...(layout !== undefined ? { layout } : {}),
    ...(udpRecv !== undefined ? { udpRecv } : {}),
    ...(boolFlag(values, 'simulate-speakers') ? { simulateSpeakers: true } : {}),
    ...(talkers !== undefined ? { talkers } : {}),
  };
}
