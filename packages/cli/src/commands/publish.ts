// `atrium publish FILE`: joins a room as a participant on our own WebRTC client role and publishes a media file's
// video (VP8) and audio (Opus), as lk's `room join --publish`. Any file or URL ffmpeg reads works: ffmpeg encodes it
// in real time (-re) and packetizes; we send its packets as our camera and microphone. Runs to the end of the file
// (or forever with --loop) or until Ctrl-C, then leaves.
import { AccessToken } from 'livekit-server-sdk';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { FfmpegRtpSource } from '@atrium/server/ingress/ffmpeg-rtp-source.js';
import { CliError, UsageError } from '../command.js';
import type { Command } from '../command.js';
import { boolFlag, optionalInteger, requireFlag, stringFlag } from '../args.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import { LoadParticipant } from '../load-test/load-participant.js';
import { RelaySource } from '../publish/relay-source.js';
import { probeMedia } from '../publish/probe.js';
import { localAddressFor } from './load-test.js';

const JOIN_TIMEOUT_MS = 15_000;
const DEFAULT_VIDEO_KBPS = 1_500;

export const publish: Command = {
  path: ['publish'],
  summary: "join a room and publish a media file's video and audio (as lk room join --publish)",
  synopsis: 'FILE --room NAME [--identity ID] [--name NAME] [--loop] [--no-video] [--no-audio] [--video-bitrate KBPS]',
  flagHelp: [
    ['FILE', 'a media file (or http(s) URL) that ffmpeg reads: MP4, WebM, MKV, OGG, WAV, IVF...'],
    ['-r, --room NAME', 'the room to join'],
    ['-i, --identity ID', 'the participant identity (default publisher)'],
    ['--name NAME', 'the participant display name'],
    ['--loop', 'start the file again at its end (default: leave at the end)'],
    ['--no-video', 'publish only the audio'],
    ['--no-audio', 'publish only the video'],
    ['--video-bitrate KBPS', `VP8 bitrate (default ${DEFAULT_VIDEO_KBPS})`],
    ...CONNECTION_HELP,
  ],
  options: {
    room: { type: 'string', short: 'r' },
    identity: { type: 'string', short: 'i' },
    name: { type: 'string' },
    loop: { type: 'boolean' },
    'no-video': { type: 'boolean' },
    'no-audio': { type: 'boolean' },
    'video-bitrate': { type: 'string' },
    ...CONNECTION_OPTIONS,
  },
  maxPositionals: 1,
  async run(args, io) {
    const file = args.positionals[0];
    if (file === undefined || file === '') throw new UsageError('missing the FILE to publish');
    const room = requireFlag(args.values, 'room', 'the room to join');
    const identity = stringFlag(args.values, 'identity') ?? 'publisher';
    const name = stringFlag(args.values, 'name');
    const kbps = optionalInteger(args.values, 'video-bitrate', 1) ?? DEFAULT_VIDEO_KBPS;
    const conn = resolveConnection(args.values, io.env);

    const probe = await probeMedia(file);
    const video = boolFlag(args.values, 'no-video') ? undefined : probe.video;
    const hasAudio = probe.hasAudio && !boolFlag(args.values, 'no-audio');
    if (!video && !hasAudio) throw new CliError(`${file} has nothing to publish (no ${boolFlag(args.values, 'no-video') || boolFlag(args.values, 'no-audio') ? 'stream left after --no-video/--no-audio' : 'video or audio stream'})`);

    const at = new AccessToken(conn.apiKey, conn.apiSecret, { identity, ttl: '24h', ...(name !== undefined ? { name } : {}) });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: false, canPublishData: false });
    const participant = await LoadParticipant.join({
      url: conn.url, token: await at.toJwt(), identity, certificate: await generateCertificate(), localAddress: localAddressFor(conn.url),
      subscribe: false, timeoutMs: JOIN_TIMEOUT_MS, onProblem: (_p, what) => io.stderr(`atrium publish: ${what}\n`),
    });
    let videoSource: RelaySource | undefined;
    let audioSource: RelaySource | undefined;
    let ffmpeg: FfmpegRtpSource | undefined;
    let isFinished = false;
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await participant.publish({
        ...(video ? { video: [{ rid: '', quality: 2, width: video.width, height: video.height, fps: video.fps, bitrateBps: kbps * 1000 }] } : {}),
        audio: hasAudio,
        videoSource: (sender) => (videoSource = new RelaySource('video', sender)),
        audioSource: (sender) => (audioSource = new RelaySource('audio', sender)),
      });
      const ended = new Promise<string | undefined>((resolve) => {
        void FfmpegRtpSource.start({
          url: file, allowLocalFiles: true, loop: boolFlag(args.values, 'loop'), video: video !== undefined, audio: hasAudio, videoBitrateKbps: kbps,
          onRtp: (kind, packet) => (kind === 'video' ? videoSource : audioSource)?.push(packet),
          onExit: resolve,
        }).then(
          (s) => {
            ffmpeg = s;
            if (isFinished) s.stop(); // stopped while ffmpeg was starting
          },
          (err: Error) => resolve(`ffmpeg could not start: ${err.message}`),
        );
        stop.signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      const tracks = [...participant.tracks].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1)).map((t) => (t.kind === 'video' && video ? `${t.sid} video ${video.width}x${video.height} VP8` : `${t.sid} ${t.kind} Opus`));
      io.stdout(`publishing ${file} in room ${room} as ${identity}: ${tracks.join(', ')}\n${boolFlag(args.values, 'loop') ? 'Ctrl-C stops' : `until its end${probe.durationSec !== undefined ? `, ${probe.durationSec.toFixed(1)} s` : ''} (Ctrl-C stops)`}\n`);
      const error = await ended;
      if (error !== undefined) throw new CliError(error);
      io.stdout(`done: ${videoSource ? `${videoSource.framesSent} video frames` : ''}${videoSource && audioSource ? ', ' : ''}${audioSource ? `${audioSource.framesSent} audio packets` : ''} sent\n`);
    } finally {
      isFinished = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      ffmpeg?.stop();
      videoSource?.stop();
      audioSource?.stop();
      await participant.leave();
    }
  },
};
