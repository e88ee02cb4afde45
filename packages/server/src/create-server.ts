// The composition root: the only place that knows the concrete classes. Builds the media factory, the room
// manager and the signalling service, and serves HTTP/WebSocket on the configured addresses.
import { DisconnectReason, LeaveRequest_Action } from '@livekit/protocol';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBase62 } from '@atrium/protocol';
import { systemClock } from '@atrium/webrtc';
import { srtpImplementation } from '@atrium/webrtc/srtp/index.js';
import type { Logger, Clock } from '@atrium/webrtc';
import type { ServerConfig } from './config/server-config.js';
import type { MediaFactory, MediaResources } from './rtc/participant-media.js';
import { RoomManager } from './rtc/room-manager.js';
import { RtcService } from './signal/rtc-service.js';
import { createLogger } from './logger.js';
import { TwirpServer } from './api/twirp.js';
import { createRoomService, ROOM_SERVICE_NAME } from './api/room-service.js';
import { createAgentDispatchService, AGENT_DISPATCH_SERVICE_NAME } from './api/agent-dispatch-service.js';
import { WebhookNotifier } from './webhook/webhook-notifier.js';
import { webhookRoomEvents } from './webhook/webhook-room-events.js';
import { SfuStats } from './sfu/sfu-stats.js';
import { createServerMetrics } from './metrics/server-metrics.js';
import type { ServerMetrics } from './metrics/server-metrics.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import type { MetricsServer } from './metrics/metrics-server.js';
import { NodeState } from './health/node-state.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, waitUntilEmpty } from './health/drain.js';
import { PublishCodecs } from './rtc/publish-codecs.js';
import { AgentService, isAgentPath } from './agent/agent-service.js';
import { combineRoomEvents } from './rtc/room-events.js';
import { WorkerMediaFactory, type MediaStatsView } from './media-worker/worker-media-factory.js';
import { mediaSettingsOf } from './rtc/media-settings.js';
import { startTurnService } from './turn/turn-service.js';
import type { TurnService } from './turn/turn-service.js';
import { createEgressService, EGRESS_SERVICE_NAME } from './api/egress-service.js';
import { createEgressManager } from './egress/create-egress-manager.js';
import { AutoEgress } from './egress/auto-egress.js';
import { IngressRegistry } from './ingress/ingress-registry.js';
import { ingressWebhooks } from './ingress/ingress-webhooks.js';
import { WhipServer, WHIP_PATH } from './ingress/whip-server.js';
import { IngressSessions } from './ingress/ingress-sessions.js';
import { createIngressService, INGRESS_SERVICE_NAME } from './api/ingress-service.js';
import { WebApp, type LiveStats } from './web/web-app.js';
import { RtmpIngress } from './ingress/rtmp-ingress.js';
import { RtmpServer } from './ingress/rtmp/rtmp-server.js';

export interface AtriumServer {
  readonly httpPort: number;
  readonly udpPort: number;
  /** Every media worker's UDP port (one entry when media runs in the main thread). */
  readonly udpPorts: readonly number[];
  /** ICE-TCP listener ports, one per media worker (`rtc.tcp_port + i`); empty when ICE-TCP is off. */
  readonly tcpPorts: readonly number[];
  /** The embedded TURN server (docs/turn.md): its ports and core, undefined ports when off. */
  readonly turn: TurnService;
  /** The media workers (undefined when media runs in the main thread: rtc.media_workers 0, or a test's factory). */
  readonly mediaWorkers: WorkerMediaFactory | undefined;
  /** ws://host:port of the first bind address. */
  readonly url: string;
  readonly nodeId: string;
  readonly rooms: RoomManager;
  /** Port of the Prometheus /metrics listener, undefined when metrics are off (prometheus_port 0). */
  readonly metricsPort: number | undefined;
  /** Port of the RTMP ingress listener, undefined when RTMP is off (ingress.rtmp_port 0, or taken in development). */
  readonly rtmpPort: number | undefined;
  /** True once drain() was called: the health check says not ready and joins that would create rooms are refused. */
  readonly isDraining: boolean;
  /** Rooms and media resources held now; all zero once everyone has left and rooms have closed. */
  resources(): { rooms: number } & MediaResources;
  /** Idempotent: disconnects everyone (LeaveRequest SERVER_SHUTDOWN), closes sockets and the media factory. */
  close(): Promise<void>;
  /**
   * Graceful stop: refuses new rooms at once (existing rooms keep taking joins), waits until no participant is
   * left or `timeoutMs` passes (default DEFAULT_DRAIN_TIMEOUT_MS); those still there get LeaveRequest{RECONNECT,
   * SERVER_SHUTDOWN} so their clients rejoin; then close(). Idempotent.
   */
  drain(opts?: { timeoutMs?: number }): Promise<void>;
}

export interface ServerOverrides {
  mediaFactory?: MediaFactory;
  logger?: Logger;
  clock?: Clock;
  /** Serve /metrics on this port even when config.prometheusPort is 0; 0 here = an ephemeral port (tests). */
  prometheusPort?: number;
}

function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

let srtpLogged = false;

/** The operator view's live numbers (docs/web-app.md): media totals by kind and each subscriber's downlink. */
function liveStatsOf(stats: MediaStatsView, rooms: RoomManager): LiveStats {
  const snap = stats.snapshot();
  const pick = (k: 'audio' | 'video') => ({ packetsIn: snap[k].packetsIn, bytesIn: snap[k].bytesIn, packetsOut: snap[k].packetsOut, bytesOut: snap[k].bytesOut });
  const subscribers: LiveStats['subscribers'] = {};
  const tracks: LiveStats['tracks'] = {};
  for (const room of rooms.listRooms()) {
    if (room.isClosed) continue;
    for (const p of room.listParticipants()) {
      for (const t of p.tracks) {
        const layers = t.source.receiveQuality?.()?.layerBitrateBps;
        if (layers) tracks[t.info.sid] = { bitrateBps: Math.round(layers.reduce((a, b) => a + b, 0)), layerBitrateBps: layers.map(Math.round) };
      }
      const s = p.media.congestionState?.();
      if (s === undefined) continue;
      subscribers[p.sid] = { estimateBps: Number.isFinite(s.estimateBps) ? s.estimateBps : null, allocatedBps: s.allocatedBps, audioBps: s.audioBps, pausedTracks: s.pausedTracks };
    }
  }
  return { media: { audio: pick('audio'), video: pick('video') }, subscribers, tracks };
}

export async function createServer(config: ServerConfig, overrides: ServerOverrides = {}): Promise<AtriumServer> {
  const logger = overrides.logger ?? createLogger({ level: config.logging.level, json: config.logging.json });
  const clock = overrides.clock ?? systemClock;
  // Which SRTP path media uses (native module or TypeScript, ATRIUM_SRTP): decided now, so a bad ATRIUM_SRTP stops
  // start-up, and said once per process.
  const srtp = srtpImplementation();
  if (!srtpLogged) logger.info({ srtp: srtp.name }, srtp.reason);
  srtpLogged = true;
  const nodeId = `ND_${randomBase62()}`;
  const bindAddresses = config.bindAddresses.length > 0 ? config.bindAddresses : ['127.0.0.1'];
  const firstAddress = bindAddresses[0] ?? '127.0.0.1';

  const prometheusPort = overrides.prometheusPort ?? (config.prometheusPort !== 0 ? config.prometheusPort : undefined);
  // Rooms are created further down (they need the webhook notifier); the metrics read them at scrape time.
  let rooms: RoomManager | undefined;
  let agents: AgentService | undefined;
  // The embedded TURN server starts further down too; its counters are read at scrape time.
  let turnStarted: TurnService | undefined;
  const metrics: ServerMetrics | undefined =
    prometheusPort !== undefined ? createServerMetrics({ nodeId, rooms: () => rooms, stats: (): MediaStatsView => mediaStats, agents: () => agents?.dispatcher, mediaWorkers: () => mediaWorkers, turn: () => turnStarted?.server?.stats }) : undefined;
  // The latency histogram is fed only when metrics are on (the sampled observation is its one hot-path cost).
  const sfuStats: SfuStats = new SfuStats(metrics ? { forwardLatency: metrics.forwardLatency } : {});
  const nodeState = new NodeState();

  const publishCodecs = new PublishCodecs(config.room.enabledCodecs);
  if (publishCodecs.ignored.length > 0) {
    logger.debug({ codecs: publishCodecs.ignored, enabled: publishCodecs.mimeTypes }, 'room.enabled_codecs lists codecs Atrium does not forward; publishers are offered the others');
  }

  let mediaFactory: MediaFactory & { udpPort?: number; tcpPort?: number | undefined };
  // rtc.tcp_port: 0 = off (LiveKit), 'ephemeral' = port 0 to the listeners.
  const tcpPort = config.rtc.tcpPort === 0 ? undefined : config.rtc.tcpPort === 'ephemeral' ? 0 : config.rtc.tcpPort;
  let mediaWorkers: WorkerMediaFactory | undefined;
  let mediaStats: MediaStatsView = sfuStats;
  if (overrides.mediaFactory) {
    mediaFactory = overrides.mediaFactory;
  } else if (config.rtc.mediaWorkers > 0 && overrides.clock === undefined) {
    // Media in worker threads (a test's own clock keeps media in this thread, where that clock runs).
    mediaWorkers = await WorkerMediaFactory.start({
      workers: config.rtc.mediaWorkers,
      roomParticipantsPerWorker: config.rtc.roomParticipantsPerWorker,
      udpPort: config.rtc.udpPort,
      tcpPort,
      logger: logger.child({ component: 'media' }),
      ...(metrics ? { forwardLatency: metrics.forwardLatency } : {}),
      worker: {
        bindAddress: firstAddress,
        advertisedAddress: config.rtc.nodeIp || firstAddress,
        logLevel: config.logging.level,
        enabledCodecs: config.room.enabledCodecs.map((c) => ({ mime: c.mime, fmtpLine: c.fmtpLine })),
        media: mediaSettingsOf(config),
      },
    });
    mediaFactory = mediaWorkers;
    mediaStats = mediaWorkers.stats;
  } else {
    const { createWebRtcMediaFactory } = await import('./rtc/webrtc-media-factory.js');
    mediaFactory = await createWebRtcMediaFactory({
      udpPort: config.rtc.udpPort,
      tcpPort,
      bindAddress: firstAddress,
      advertisedAddress: config.rtc.nodeIp || firstAddress,
      logger: logger.child({ component: 'media' }),
      clock,
      stats: sfuStats,
      publishCodecs,
      ...mediaSettingsOf(config),
    });
  }

  let webhooks: WebhookNotifier | undefined;
  if (config.webhook.urls.length > 0) {
    const apiSecret = config.keys[config.webhook.apiKey];
    if (apiSecret === undefined) throw new Error(`webhook.api_key '${config.webhook.apiKey}' is not one of the API keys`);
    webhooks = new WebhookNotifier({
      urls: config.webhook.urls,
      apiKey: config.webhook.apiKey,
      apiSecret,
      clock,
      logger: logger.child({ component: 'webhook' }),
    });
  }

  let turn: TurnService;
  try {
    turn = await startTurnService(config, { clock, logger: logger.child({ component: 'turn' }), bindAddress: firstAddress });
  } catch (err) {
    await mediaFactory.close();
    await webhooks?.close();
    throw err;
  }
  turnStarted = turn;

  agents = new AgentService({
    keys: config.keys,
    nodeId,
    clock,
    logger: logger.child({ component: 'agent' }),
    maxMessageBytes: config.limit.agentSignalMessageSizeLimit,
    enableUserDataRecording: config.agents.enableUserDataRecording,
    enableUserDataRedaction: config.agents.enableUserDataRedaction,
  });
  // Egress joins rooms as a hidden participant over our own /rtc, so it needs the URL we listen on (known below).
  let signalUrl = '';
  const egress = createEgressManager({
    config: config.egress,
    keys: config.keys,
    rooms: () => rooms,
    url: () => signalUrl,
    clock,
    logger: logger.child({ component: 'egress' }),
    ...(webhooks ? { notify: (e) => webhooks.notify(e) } : {}),
  });
  const autoEgress = new AutoEgress({ target: egress, clock, logger: logger.child({ component: 'egress' }) });
  rooms = new RoomManager({
    nodeId,
    emptyTimeoutSec: config.room.emptyTimeoutSec,
    departureTimeoutSec: config.room.departureTimeoutSec,
    autoCreate: config.room.autoCreate,
    maxParticipants: config.room.maxParticipants,
    speakerUpdateIntervalMs: config.audio.updateIntervalMs,
    clock,
    logger,
    events: combineRoomEvents(webhooks ? webhookRoomEvents(webhooks) : undefined, agents.roomEvents(), egress.roomEvents(), autoEgress.roomEvents()),
    publishCodecs,
    iceServers: (p) => turn.iceServers(p),
  });
  // Ingress (docs/ingress.md): the records behind livekit.Ingress and the WHIP endpoint on this listener.
  let httpPort = config.port;
  let rtmpServer: RtmpServer | undefined;
  const ingresses = new IngressRegistry({
    clock,
    logger: logger.child({ component: 'ingress' }),
    whipBaseUrl: () => config.ingress.whipBaseUrl || `http://${urlHost(firstAddress)}:${httpPort}${WHIP_PATH}`,
    maxActive: config.ingress.maxActiveStreams,
    rtmpBaseUrl: () => (rtmpServer ? config.ingress.rtmpBaseUrl || `rtmp://${urlHost(firstAddress)}:${rtmpServer.port}/x` : undefined),
    ...(webhooks ? { events: ingressWebhooks(webhooks) } : {}),
    startUrlInput: (info) => ingressSessions.startUrl(info),
  });
  const ingressSessions: IngressSessions = new IngressSessions({
    ingresses, rooms, mediaFactory, clock, logger: logger.child({ component: 'ingress' }), publishCodecs,
    // A WHIP transcoder subscribes to the sender as egress does: over our own /rtc, with the first API key.
    transcoderSignal: () => {
      const [apiKey, apiSecret] = Object.entries(config.keys)[0] ?? [];
      return apiKey !== undefined && apiSecret !== undefined && signalUrl !== '' ? { url: signalUrl, apiKey, apiSecret } : undefined;
    },
  });
  const rtmpIngress = new RtmpIngress({ ingresses, sessions: ingressSessions, logger: logger.child({ component: 'rtmp' }) });
  const whip = new WhipServer({ ingresses, sessions: ingressSessions, logger: logger.child({ component: 'whip' }) });
  const rtc = new RtcService({
    keys: config.keys, rooms, mediaFactory, clock, logger: logger.child({ component: 'signal' }), nodeState, publishCodecs,
    isSignalV1Enabled: config.rtc.signalV1, resumeTimeoutMs: config.rtc.resumeTimeoutSec * 1000,
  });

  const api = new TwirpServer({
    keys: config.keys,
    services: {
      [ROOM_SERVICE_NAME]: createRoomService({ rooms }),
      [AGENT_DISPATCH_SERVICE_NAME]: createAgentDispatchService({ rooms, dispatcher: agents.dispatcher, autoCreate: config.room.autoCreate }),
      [EGRESS_SERVICE_NAME]: createEgressService({ egress }),
      [INGRESS_SERVICE_NAME]: createIngressService({ ingresses }),
    },
    logger: logger.child({ component: 'api' }),
  });

  const roomManagerForWeb = rooms;
  // The meeting app (docs/web-app.md): /app/, /rooms/<name>, browsers' GET /; off with web.enabled: false.
  const web = config.web.enabled
    ? new WebApp({
        config: config.web,
        keys: config.keys,
        logger: logger.child({ component: 'web' }),
        live: () => liveStatsOf(mediaStats, roomManagerForWeb),
      })
    : undefined;

  const servers: Server[] = [];
  let metricsServer: MetricsServer | undefined;
  try {
    for (const address of bindAddresses) {
      const server = createHttpServer((req, res) => {
        if (TwirpServer.matches(req)) api.handle(req, res);
        else if (WhipServer.matches(req)) whip.handle(req, res);
        else if (web?.matches(req)) web.handle(req, res);
        else rtc.handleRequest(req, res);
      });
      server.on('upgrade', (req, socket, head) => {
        if (isAgentPath(req.url)) agents.handleUpgrade(req, socket, head);
        else rtc.handleUpgrade(req, socket, head);
      });
      server.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        else socket.destroy();
      });
      httpPort = await listen(server, httpPort, address);
      servers.push(server);
    }
    if (config.ingress.rtmpPort > 0) {
      try {
        rtmpServer = await RtmpServer.listen({
          port: config.ingress.rtmpPort, host: firstAddress, logger: logger.child({ component: 'rtmp' }),
          handlerFor: (peer) => rtmpIngress.handlerFor(peer),
        });
        logger.info({ rtmpPort: rtmpServer.port }, 'RTMP ingress listening');
      } catch (err) {
        // In development RTMP is on by default: a taken 1935 (another server, OBS's own) must not stop the server.
        if (!config.development) throw err;
        logger.warn({ err: (err as Error).message, rtmpPort: config.ingress.rtmpPort }, 'RTMP ingress is off: its port is taken');
      }
    }
    if (metrics && prometheusPort !== undefined) {
      metricsServer = await startMetricsServer({ registry: metrics.registry, port: prometheusPort, bindAddresses, logger, auth: config.prometheusAuth });
    }
  } catch (err) {
    for (const s of servers) s.close();
    await rtmpServer?.close();
    agents.close();
    await turn.close();
    await mediaFactory.close();
    await webhooks?.close();
    throw err;
  }

  const udpPort = typeof mediaFactory.udpPort === 'number' ? mediaFactory.udpPort : config.rtc.udpPort;
  const url = `ws://${urlHost(firstAddress)}:${httpPort}`;
  signalUrl = url;
  logger.info({ url, udpPort, nodeId, ...(metricsServer ? { prometheusPort: metricsServer.port } : {}) }, 'atrium server listening');

  const roomManager = rooms;
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  const server: AtriumServer = {
    httpPort,
    udpPort,
    udpPorts: mediaWorkers ? mediaWorkers.udpPorts : [udpPort],
    tcpPorts: mediaWorkers ? mediaWorkers.tcpPorts : typeof mediaFactory.tcpPort === 'number' ? [mediaFactory.tcpPort] : [],
    mediaWorkers,
    turn,
    url,
    nodeId,
    rooms: roomManager,
    metricsPort: metricsServer?.port,
    rtmpPort: rtmpServer?.port,
    get isDraining() {
      return nodeState.isDraining;
    },
    resources() {
      return { rooms: roomManager.roomCount, ...mediaFactory.resources() };
    },
    drain(opts: { timeoutMs?: number } = {}): Promise<void> {
      draining ??= (async () => {
        nodeState.startDraining();
        roomManager.stopCreatingRooms();
        logger.info('draining: no new rooms; existing rooms go on');
        await waitUntilEmpty({ rooms: roomManager, clock, timeoutMs: opts.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS, logger });
        // Whoever is still here is not dropped: LeaveRequest{RECONNECT, SERVER_SHUTDOWN} makes LiveKit clients rejoin
        // (a full reconnect: the load balancer takes them to a node that serves, or to this one once restarted).
        // RESUME would be wrong: the session does not survive this process.
        roomManager.close(DisconnectReason.SERVER_SHUTDOWN, { action: LeaveRequest_Action.RECONNECT });
        await server.close();
      })();
      return draining;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        nodeState.startDraining();
        // recordings are finalized while their rooms still send media
        await egress.close();
        rtmpIngress.close();
        await rtmpServer?.close();
        ingressSessions.close();
        ingresses.close();
        roomManager.close();
        rtc.close();
        agents.close();
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve());
                s.closeAllConnections();
              }),
          ),
        );
        await metricsServer?.close();
        await turn.close();
        await mediaFactory.close();
        // Bounded: delivers what is queued (room_finished of the rooms closed above) for at most a moment.
        await webhooks?.close();
        logger.info('atrium server closed');
      })();
      return closing;
    },
  };
  return server;
}
