// What a recorder does with its job's outputs around its encoder, the same for the track and room composite recorders:
// the stream fan-out fed from the encoder's stdout (RTMP URLs added and removed by UpdateStream), the output collector
// (HLS live playlist, uploads, sizes), and an upload failing while recording turned into the egress's failure.
import type { Readable } from 'node:stream';
import type { StreamInfo } from '@livekit/protocol';
import type { Logger } from '@atrium/webrtc';
import type { OutputPlan } from './egress-outputs.js';
import { OutputCollector } from './output-collector.js';
import type { OutputResults } from './output-collector.js';
import { StreamFanout } from './stream-fanout.js';

const UPLOAD_CHECK_MS = 1_000;

export class JobOutputs {
  private readonly plan: OutputPlan;
  private readonly collector: OutputCollector;
  private readonly streams: StreamFanout | undefined;
  private uploadCheck: NodeJS.Timeout | undefined;

  constructor(plan: OutputPlan, opts: { ffmpegPath: string; logger: Logger; onStreamsChanged?: () => void }) {
    this.plan = plan;
    this.collector = new OutputCollector(plan, opts.logger);
    if (plan.stream) {
      this.streams = new StreamFanout({ ffmpegPath: opts.ffmpegPath, logger: opts.logger, nowMs: () => Date.now(), onChange: () => opts.onStreamsChanged?.() });
    }
  }

  /** Whether the encoder must write the stream outputs' MPEG-TS to its stdout. */
  get wantsStdout(): boolean {
    return this.streams !== undefined;
  }

  /** The encoder runs: its stdout feeds the stream URLs; `fail` hears of an upload that failed while recording. */
  start(encoderStdout: Readable | undefined, fail: (why: string) => void): void {
    if (this.streams && encoderStdout) {
      this.streams.attach(encoderStdout);
      for (const url of this.plan.stream?.urls ?? []) this.streams.add(url);
    }
    this.collector.start();
    this.uploadCheck = setInterval(() => {
      const why = this.collector.failure;
      if (why !== undefined) fail(why);
    }, UPLOAD_CHECK_MS);
    this.uploadCheck.unref();
  }

  updateStream(add: readonly string[], remove: readonly string[]): void {
    for (const url of remove) this.streams?.remove(url);
    for (const url of add) this.streams?.add(url);
  }

  streamResults(): StreamInfo[] {
    return this.streams?.results() ?? [];
  }

  activeStreamUrls(): string[] {
    return this.streams?.urls ?? [];
  }

  /** After the encoder exited: each stream's FLV finished, the files measured and uploaded. */
  async finish(): Promise<{ outputs: OutputResults; streams?: StreamInfo[] }> {
    clearInterval(this.uploadCheck);
    await this.streams?.close();
    const outputs = await this.collector.finish();
    return { outputs, ...(this.streams ? { streams: this.streams.results() } : {}) };
  }
}
