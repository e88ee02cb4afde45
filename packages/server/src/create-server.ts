// The composition root: the only place that knows the concrete classes. Builds the media factory, the room
// manager and the signalling service, and serves HTTP/WebSocket on the configured addresses.
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBase62 } from '@atrium/protocol';
import { systemClock } from '@atrium/webrtc';
import type { Logger, Clock } from '@atrium/webrtc';
import type { ServerConfig } from './config/server-config.js';
import type { MediaFactory, MediaResources } from './rtc/participant-media.js';
import { RoomManager } from './rtc/room-manager.js';
import { RtcService } from './signal/rtc-service.js';
import { createLogger } from './logger.js';
import { TwirpServer } from './api/twirp.js';
import { createRoomService, ROOM_SERVICE_NAME } from './api/room-service.js';
import { WebhookNotifier } from './webhook/webhook-notifier.js';
import { webhookRoomEvents } from './webhook/webhook-room-events.js';

export interface AtriumServer {
  readonly httpPort: number;
  readonly udpPort: number;
  /** ws://host:port of the first bind address. */
  readonly url: string;
  readonly nodeId: string;
  readonly rooms: RoomManager;
  /** Rooms and media resources held now; all zero once everyone has left and rooms have closed. */
  resources(): { rooms: number } & MediaResources;
  /** Idempotent: disconnects everyone (LeaveRequest SERVER_SHUTDOWN), closes sockets and the media factory. */
  close(): Promise<void>;
}

export interface ServerOverrides {
  mediaFactory?: MediaFactory;
  logger?: Logger;
  clock?: Clock;
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

export async function createServer(config: ServerConfig, overrides: ServerOverrides = {}): Promise<AtriumServer> {
  const logger = overrides.logger ?? createLogger({ level: config.logging.level });
  const clock = overrides.clock ?? systemClock;
  const nodeId = `ND_${randomBase62()}`;
  const bindAddresses = config.bindAddresses.length > 0 ? config.bindAddresses : ['127.0.0.1'];
  const firstAddress = bindAddresses[0] ?? '127.0.0.1';

  let mediaFactory: MediaFactory & { udpPort?: number };
  if (overrides.mediaFactory) {
    mediaFactory = overrides.mediaFactory;
  } else {
    const { createWebRtcMediaFactory } = await import('./rtc/webrtc-media-factory.js');
    mediaFactory = await createWebRtcMediaFactory({
      udpPort: config.rtc.udpPort,
      bindAddress: firstAddress,
      advertisedAddress: config.rtc.nodeIp || firstAddress,
      logger: logger.child({ component: 'media' }),
      clock,
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

  const rooms = new RoomManager({
    nodeId,
    emptyTimeoutSec: config.room.emptyTimeoutSec,
    departureTimeoutSec: config.room.departureTimeoutSec,
    autoCreate: config.room.autoCreate,
    maxParticipants: config.room.maxParticipants,
    clock,
    logger,
    ...(webhooks ? { events: webhookRoomEvents(webhooks) } : {}),
  });
  const rtc = new RtcService({ keys: config.keys, rooms, mediaFactory, clock, logger: logger.child({ component: 'signal' }) });

  const api = new TwirpServer({
    keys: config.keys,
    services: { [ROOM_SERVICE_NAME]: createRoomService({ rooms }) },
    logger: logger.child({ component: 'api' }),
  });

  const servers: Server[] = [];
  let httpPort = config.port;
  try {
    for (const address of bindAddresses) {
      const server = createHttpServer((req, res) => {
        if (TwirpServer.matches(req)) api.handle(req, res);
        else rtc.handleRequest(req, res);
      });
      server.on('upgrade', (req, socket, head) => rtc.handleUpgrade(req, socket, head));
      server.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        else socket.destroy();
      });
      httpPort = await listen(server, httpPort, address);
      servers.push(server);
    }
  } catch (err) {
    for (const s of servers) s.close();
    await mediaFactory.close();
    await webhooks?.close();
    throw err;
  }

  const udpPort = typeof mediaFactory.udpPort === 'number' ? mediaFactory.udpPort : config.rtc.udpPort;
  const url = `ws://${urlHost(firstAddress)}:${httpPort}`;
  logger.info({ url, udpPort, nodeId }, 'atrium server listening');

  let closing: Promise<void> | undefined;
  return {
    httpPort,
    udpPort,
    url,
    nodeId,
    rooms,
    resources() {
      return { rooms: rooms.roomCount, ...mediaFactory.resources() };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        rooms.close();
        rtc.close();
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve());
                s.closeAllConnections();
              }),
          ),
        );
        await mediaFactory.close();
        // Bounded: delivers what is queued (room_finished of the rooms closed above) for at most a moment.
        await webhooks?.close();
        logger.info('atrium server closed');
      })();
      return closing;
    },
  };
}
