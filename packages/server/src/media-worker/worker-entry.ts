// A media worker thread: its own UDP socket, DTLS certificate and media sessions (webrtc-media-factory.ts), driven by
// the main thread through MediaWorkerHost. Started by WorkerMediaFactory (worker-media-factory.ts).
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '@atrium/webrtc';
import { createWebRtcMediaFactory } from '../rtc/webrtc-media-factory.js';
import { PublishCodecs } from '../rtc/publish-codecs.js';
import { SfuStats } from '../sfu/sfu-stats.js';
import { createPortLogger } from './port-logger.js';
import { MediaWorkerHost, latencyCollector } from './worker-host.js';
import type { FromWorker, MediaWorkerConfig } from './protocol.js';

const config = (workerData as { config: MediaWorkerConfig }).config;
const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
const logger = createPortLogger(post, config.logLevel, { component: 'media', worker: config.index });
const latencySamples: number[] | null = config.collectLatency ? [] : null;
const stats = new SfuStats(latencySamples ? { forwardLatency: latencyCollector(latencySamples) } : {});

process.on('uncaughtException', (err) => {
  logger.error({ err }, 'media worker: uncaught exception');
});

const factory = await createWebRtcMediaFactory({
  udpPort: config.udpPort,
  tcpPort: config.tcpPort,
  bindAddress: config.bindAddress,
  advertisedAddress: config.advertisedAddress,
  logger,
  clock: systemClock,
  stats,
  publishCodecs: new PublishCodecs(config.enabledCodecs),
  ...config.media,
});
new MediaWorkerHost({
  index: config.index,
  port: { postMessage: post, on: (event, listener) => port.on(event, listener) },
  factory,
  clock: systemClock,
  logger,
  stats,
  latencySamples,
  ...(config.media.audioLevel ? { audioLevel: config.media.audioLevel } : {}),
});
/** This thread's OS id: /proc/thread-self links to /proc/<pid>/task/<tid> on Linux. */
function osThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

const threadId = osThreadId();
post({ t: 'ready', udpPort: factory.udpPort, tcpPort: factory.tcpPort, ...(threadId !== undefined ? { threadId } : {}) });
