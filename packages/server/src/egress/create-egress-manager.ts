// Builds the server's EgressManager: room and track lookups over the RoomManager, and track recorders that join as a
// hidden participant over this server's own /rtc and mux with ffmpeg (track-recorder.ts).
import { S3Upload } from '@livekit/protocol';
import type { Room as RoomInfo, WebhookEvent } from '@livekit/protocol';
import type { Clock, Logger } from '@atrium/webrtc';
import type { RoomManager } from '../rtc/room-manager.js';
import type { ServerConfig } from '../config/server-config.js';
import { EgressManager } from './egress-manager.js';
import type { TrackLookup } from './egress-manager.js';
import { startTrackRecorder } from './track-recorder.js';
import { startWebsocketRecorder } from './websocket-recorder.js';
import { startRoomCompositeRecorder } from './room-composite/room-composite-recorder.js';

export interface CreateEgressManagerOptions {
  config: ServerConfig['egress'];
  keys: Readonly<Record<string, string>>;
  rooms: () => RoomManager | undefined;
  /** ws://host:port of this server, once it listens. */
  url: () => string;
  clock: Clock;
  logger: Logger;
  notify?: (event: WebhookEvent) => void;
}

export function createEgressManager(opts: CreateEgressManagerOptions): EgressManager {
  const liveRoom = (name: string) => {
    const room = opts.rooms()?.getRoom(name);
    return room && !room.isClosed ? room : undefined;
  };
  return new EgressManager({
    findRoom: (name): RoomInfo | undefined => liveRoom(name)?.info(),
    findTrack: (name, trackSid): TrackLookup | undefined => {
      const room = liveRoom(name);
      if (!room) return undefined;
      for (const p of room.listParticipants()) {
        if (p.isClosed) continue;
        const t = p.tracks.find((x) => x.info.sid === trackSid);
        if (t) return { room: room.info(), publisherIdentity: p.identity, track: t.info.clone() };
      }
      return undefined;
    },
    findParticipantTracks: (name, identity): TrackLookup[] | undefined => {
      const room = liveRoom(name);
      const p = room?.getParticipantByIdentity(identity);
      if (!room || !p || p.isClosed) return undefined;
      return p.tracks.map((t) => ({ room: room.info(), publisherIdentity: p.identity, track: t.info.clone() }));
    },
    startRecorder: (job, callbacks) => {
      const [apiKey, apiSecret] = Object.entries(opts.keys)[0] ?? [];
      if (apiKey === undefined || apiSecret === undefined) throw new Error('no API key to join the room with');
      if (job.composite) {
        return startRoomCompositeRecorder({
          job, settings: job.composite, callbacks, url: opts.url(), apiKey, apiSecret, ffmpegPath: opts.config.ffmpegPath,
          logger: opts.logger.child({ egressId: job.egressId, room: job.roomName, composite: true }),
        });
      }
      if (job.websocketUrl !== undefined) {
        return startWebsocketRecorder({
          job, callbacks, url: opts.url(), apiKey, apiSecret, ffmpegPath: opts.config.ffmpegPath,
          logger: opts.logger.child({ egressId: job.egressId, room: job.roomName, tracks: job.tracks.map((t) => t.trackSid), websocket: true }),
        });
      }
      return startTrackRecorder({
        job, callbacks, url: opts.url(), apiKey, apiSecret, ffmpegPath: opts.config.ffmpegPath,
        logger: opts.logger.child({ egressId: job.egressId, room: job.roomName, tracks: job.tracks.map((t) => t.trackSid) }),
      });
    },
    fileBaseDir: opts.config.fileBaseDir,
    ...(opts.config.s3 ? { defaultS3: new S3Upload({ ...opts.config.s3 }) } : {}),
    clock: opts.clock,
    logger: opts.logger,
    ...(opts.notify ? { notify: opts.notify } : {}),
  });
}
