// A track egress to a WebSocket, as LiveKit's: the egress participant subscribes to one audio track, ffmpeg decodes
// its Opus RTP to raw PCM (s16le, 48 kHz, two channels interleaved) on its stdout, and each chunk goes to the
// WebSocket as a binary message; a mute or unmute of the track is a text message `{"muted":true|false}`. The socket is
// opened with `Content-Type: audio/x-raw` (LiveKit's header). A slow receiver never stalls the room: past
// MAX_BUFFERED_BYTES waiting in the socket, chunks are dropped and counted. The egress fails when the socket cannot be
// opened or closes on the receiver's side; stop() finalizes ffmpeg, then closes the socket with 1000.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ParticipantInfo } from '@livekit/protocol';
import type { EgressParticipant } from './egress-participant.js';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { FfmpegMuxer } from './ffmpeg-muxer.js';
import { RtpRelay } from './rtp-relay.js';
import type { EgressRecorder } from './egress-manager.js';
import { RecorderLifecycle } from './recorder-lifecycle.js';
import type { RecorderOptions } from './recorder-lifecycle.js';

/** PCM waiting in the socket beyond this is dropped (about 5 s of 48 kHz stereo s16le). */
const MAX_BUFFERED_BYTES = 1 << 20;
const CONNECT_TIMEOUT_MS = 10_000;
const PING_INTERVAL_MS = 30_000;

export const WEBSOCKET_PCM_ARGS: readonly string[] = ['-map', '0:0', '-f', 's16le', '-ar', '48000', '-ac', '2', 'pipe:1'];

export function startWebsocketRecorder(opts: RecorderOptions): EgressRecorder {
  const recorder = new WebsocketRecorder(opts);
  void recorder.run();
  return recorder;
}

class WebsocketRecorder extends RecorderLifecycle {
  private readonly opts: RecorderOptions;
  private socket: WebSocket | undefined;
  private muxer: FfmpegMuxer | undefined;
  private participant: EgressParticipant | undefined;
  private relay: RtpRelay | undefined;
  private tempDir: string | undefined;
  private ping: NodeJS.Timeout | undefined;
  private muted: boolean | undefined;
  private bytesSent = 0;
  private bytesDropped = 0;

  constructor(opts: RecorderOptions) {
    super(opts.logger, opts.callbacks);
    this.opts = opts;
  }

  protected get canFinish(): boolean {
    return this.participant !== undefined;
  }

  async run(): Promise<void> {
    const { job } = this.opts;
    const trackSid = job.tracks[0]?.trackSid;
    try {
      if (job.websocketUrl === undefined || trackSid === undefined) throw new Error('a websocket egress needs a URL and a track');
      this.socket = await openSocket(job.websocketUrl);
      this.socket.on('close', (code) => {
        if (!this.isStopping) this.fail(`the websocket closed (${code})`);
      });
      this.socket.on('error', (err) => this.log.debug({ err: err.message }, 'websocket error'));
      this.ping = setInterval(() => this.socket?.ping(), PING_INTERVAL_MS);
      this.ping.unref();
      this.tempDir = await mkdtemp(join(tmpdir(), 'atrium-egress-ws-'));
      this.muxer = await FfmpegMuxer.start({
        ffmpegPath: this.opts.ffmpegPath, formats: job.tracks.map((t) => t.format), outputPath: join(this.tempDir, 'pcm'), logger: this.log,
        outputArgs: WEBSOCKET_PCM_ARGS, pipeStdout: true,
      });
      this.muxer.stdout?.on('data', (chunk: Buffer) => this.send(chunk));
      void this.muxer.exited.then((exit) => {
        if (!exit.isClean && !this.isStopping) this.fail(exit.reason);
      });
      if (this.isStopping) return this.finish();
      this.participant = await this.joinRoom(this.opts, {
        trackSids: [trackSid],
        onStream: (s) => this.onStream(s),
        // the track's state when we join is the baseline: only changes are messages
        onJoin: (join) => this.applyParticipants(join.otherParticipants, trackSid, false),
        onRoomSignal: (msg) => {
          if (msg.case === 'update') this.applyParticipants(msg.value.participants, trackSid, true);
        },
      });
      if (this.isEnded) await this.participant.leave();
      else if (this.isStopping) await this.finish();
    } catch (err) {
      this.fail((err as Error).message);
    }
  }

  private send(chunk: Buffer): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.bytesDropped += chunk.length;
      return;
    }
    socket.send(chunk, { binary: true });
    this.bytesSent += chunk.length;
  }

  private onStream(stream: RemoteStream): RemoteStream['onRtp'] {
    const muxer = this.muxer;
    if (!muxer || this.relay) return () => {};
    const relay = new RtpRelay({ mimeType: stream.primaryCodec?.mimeType ?? 'audio/opus', clockRate: stream.clockRate, port: muxer.ports[0]! });
    this.relay = relay;
    relay.onStart = () => this.callbacks.active();
    return (buf, h) => relay.handle(buf, h);
  }

  /** The track's mute state from the participants' infos; with `notify`, a change is a text message. */
  private applyParticipants(infos: readonly ParticipantInfo[], trackSid: string, notify: boolean): void {
    for (const p of infos) {
      const track = p.tracks.find((t) => t.sid === trackSid);
      if (!track) continue;
      if (notify && track.muted !== (this.muted ?? false) && this.socket?.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ muted: track.muted }));
      }
      this.muted = track.muted;
    }
  }

  protected async finish(): Promise<void> {
    if (this.isEnded) return;
    this.isEnded = true;
    clearInterval(this.ping);
    const relay = this.relay;
    const exit = this.muxer ? await this.muxer.stop(() => relay?.wake() ?? false) : undefined;
    relay?.close();
    await this.participant?.leave().catch(() => {});
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.close(1000, 'egress ended');
    else this.socket?.terminate();
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
    if (this.bytesDropped > 0) this.log.warn({ dropped: this.bytesDropped, sent: this.bytesSent }, 'websocket egress dropped audio: the receiver was not keeping up');
    this.report({ sizeBytes: this.bytesSent, durationMs: relay?.durationMs ?? 0 }, exit && !exit.isClean ? exit.reason : undefined);
  }
}

/** Opens the WebSocket as LiveKit's egress does (Content-Type: audio/x-raw); rejects with why it could not. */
function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { 'Content-Type': 'audio/x-raw' }, handshakeTimeout: CONNECT_TIMEOUT_MS });
    socket.once('open', () => resolve(socket));
    socket.once('error', (err) => reject(new Error(`cannot open the websocket ${url.replace(/\?.*$/, '')}: ${err.message}`)));
  });
}
