// HTTP side of signalling (docs/livekit-protocol.md 1.1-1.5, 2.1): health check, /rtc/validate and /rtc/v1/validate,
// the /rtc (v0) and /rtc/v1 (single PC, docs/signal-v1.md) WebSocket upgrades (authenticated and checked against the
// room rules before upgrading), resumes (`reconnect=1` or a reconnect JoinRequest, docs/resume.md). With
// rtc.signal_v1 off, /rtc/v1 answers 404 and clients fall back to /rtc.
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { SignalResponse, LeaveRequest, LeaveRequest_Action, DisconnectReason, RequestResponse_Reason } from '@livekit/protocol';
import { checkMetadataUpdate } from '../rtc/participant-metadata.js';
import { newParticipantSid } from '@atrium/protocol';
import type { Logger, Clock } from '@atrium/webrtc';
import { authenticateJoin, extractToken, AuthError } from '../auth/join-auth.js';
import type { JoinAuth } from '../auth/join-auth.js';
import { parseConnectParams, connectParamsFromJoinRequest, ConnectParamsError } from './connect-params.js';
import { parseJoinRequestParam } from './join-request-param.js';
import { answerBundledOffer, claimsWithJoinRequest } from './v1-join.js';
import type { ConnectParams } from './connect-params.js';
import { SignalSession, webSocketSink } from './signal-session.js';
import { Participant } from '../rtc/participant.js';
import type { RoomManager } from '../rtc/room-manager.js';
import type { Room } from '../rtc/room.js';
import type { MediaFactory, ParticipantMedia } from '../rtc/participant-media.js';
import { DRAINING_STATUS } from '../health/node-state.js';
import type { NodeState } from '../health/node-state.js';
import type { JoinRequest } from '../rtc/room-manager.js';
import { JoinRefusedError, isDependentParticipant, roomSettingsFromToken } from '../rtc/join-admission.js';
import { TokenRefresher } from './token-refresher.js';
import type { PublishCodecs } from '../rtc/publish-codecs.js';
import { IcePreferenceCache } from '../rtc/ice-preference-cache.js';
import { ScenarioSimulator } from './scenario-simulator.js';

const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'OPTIONS, HEAD, GET, POST, PATCH, DELETE',
  'Access-Control-Allow-Headers': '*',
};

/** Body of the /rtc/v1 404s: must not contain "requested room does not exist" (that would stop the fallback). */
export const V1_NOT_SUPPORTED = 'signal v1 (/rtc/v1) is not supported by this server; use /rtc';
/** Largest signal frame we accept (SDP with many m-lines stays far below). */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;

type Route = 'health' | 'validate' | 'rtc' | 'v1' | 'v1validate' | 'not_found';

/** Clients append `rtc` / `rtc/v1` to whatever path the user's URL has, so match suffixes. */
function route(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (path === '/' || path === '') return 'health';
  if (path.endsWith('/rtc/v1')) return 'v1';
  if (path.endsWith('/rtc/v1/validate')) return 'v1validate';
  if (path.endsWith('/rtc/validate')) return 'validate';
  if (path.endsWith('/rtc')) return 'rtc';
  return 'not_found';
}

function parseUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

export interface RtcServiceOptions {
  keys: Readonly<Record<string, string>>;
  rooms: RoomManager;
  mediaFactory: MediaFactory;
  clock: Clock;
  logger: Logger;
  /** Serving or draining: the health check answers from it (the RoomManager refuses new rooms while draining). */
  nodeState?: NodeState;
  /** How often participants get a refresh_token (default 5 min, as LiveKit). */
  tokenRefreshIntervalMs?: number;
  /** The codecs publishers may use (room.enabled_codecs). */
  publishCodecs?: PublishCodecs;
  /** rtc.resume_timeout: how long a participant whose signal connection dropped waits for a resume (docs/resume.md). */
  resumeTimeoutMs?: number;
  /** rtc.signal_v1: serve /rtc/v1 (single PeerConnection); otherwise it answers 404 and clients fall back to /rtc. */
  isSignalV1Enabled?: boolean;
}

/** The room rules' view of a join. */
function joinRequestOf(auth: JoinAuth): JoinRequest {
  return {
    identity: auth.identity,
    isDependent: isDependentParticipant({ kind: auth.claims.kind, agent: auth.grant.agent, recorder: auth.grant.recorder }),
    canCreateRoom: auth.grant.roomCreate,
    settings: roomSettingsFromToken(auth.claims),
  };
}

export class RtcService {
  private readonly opts: RtcServiceOptions;
  private readonly wss: WebSocketServer;
  private closing = false;
  /** force-tcp: the candidate protocol asked for, applied to the identity's next sessions (ice-preference-cache.ts). */
  private readonly icePreferences: IcePreferenceCache;
  /** SimulateScenario requests (docs/scenarios.md). */
  private readonly scenarios: ScenarioSimulator;

  constructor(opts: RtcServiceOptions) {
    this.opts = opts;
    this.icePreferences = new IcePreferenceCache({ clock: opts.clock });
    this.scenarios = new ScenarioSimulator({ clock: opts.clock, icePreferences: this.icePreferences });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  }

  /** Plain HTTP requests. Never throws. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    this.handleRequestAsync(req, res).catch((err: unknown) => {
      this.opts.logger.error({ err }, 'http handler failed');
      if (!res.headersSent) this.reply(res, 500, 'internal error');
      else res.destroy();
    });
  }

  private async handleRequestAsync(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS_HEADERS, 'Access-Control-Max-Age': '86400' });
      res.end();
      return;
    }
    const url = parseUrl(req);
    if (!url) return this.reply(res, 400, 'bad request url');
    const r = route(url.pathname);
    const isGet = req.method === 'GET' || req.method === 'HEAD';
    if (r === 'health' && isGet) {
      const health = this.opts.nodeState?.health() ?? { status: 200, body: 'OK' };
      return this.reply(res, health.status, health.body);
    }
    const isV1 = r === 'v1' || r === 'v1validate';
    if (isV1 && this.opts.isSignalV1Enabled !== true) return this.reply(res, 404, V1_NOT_SUPPORTED);
    if ((r === 'validate' || r === 'v1validate') && isGet) {
      const result = await this.authorize(req, url, r === 'v1validate');
      if ('error' in result) return this.reply(res, result.status, result.error);
      // As LiveKit's validate: a missing room (auto-create off) is reported; a full room is found only on join.
      const refusal = this.refusalOf(result.auth);
      if (refusal?.code === 'room_not_found') return this.reply(res, 404, refusal.message);
      if (refusal?.code === 'draining') return this.reply(res, DRAINING_STATUS, refusal.message);
      return this.reply(res, 200, 'success');
    }
    if ((r === 'rtc' || r === 'v1') && isGet) return this.reply(res, 400, `expected a WebSocket upgrade on ${r === 'v1' ? '/rtc/v1' : '/rtc'}`);
    return this.reply(res, 404, 'not found');
  }

  private reply(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  /** The token and the connection's settings: the query (v0) or the `join_request` parameter (v1). */
  private async authorize(
    req: IncomingMessage,
    url: URL,
    isV1: boolean,
  ): Promise<{ auth: JoinAuth; params: ConnectParams } | { status: number; error: string }> {
    try {
      const auth = await authenticateJoin(extractToken(url.searchParams, req.headers), this.opts.keys);
      const q = url.searchParams;
      if (isV1 && !q.has('join_request')) return { status: 400, error: 'join_request is missing' };
      const params = isV1 ? connectParamsFromJoinRequest(parseJoinRequestParam(q.get('join_request') ?? '')) : parseConnectParams(q);
      // As LiveKit: a JoinRequest may set the participant's metadata or attributes only with canUpdateOwnMetadata, and
      // within the limits of a metadata update.
      if (params.metadata !== undefined || params.attributes !== undefined) {
        const verdict = checkMetadataUpdate({ name: '', metadata: params.metadata ?? '', attributes: params.attributes ?? {} }, auth.grant.canUpdateOwnMetadata);
        if (verdict.reason === RequestResponse_Reason.NOT_ALLOWED) return { status: 403, error: `permissions denied: join_request metadata or attributes: ${verdict.message}` };
        if (verdict.reason !== RequestResponse_Reason.OK) return { status: 400, error: `join_request metadata or attributes: ${verdict.message}` };
      }
      return { auth: { ...auth, claims: claimsWithJoinRequest(auth.claims, params) }, params };
    } catch (err) {
      if (err instanceof AuthError) return { status: err.status, error: err.message };
      if (err instanceof ConnectParamsError) return { status: 400, error: err.message };
      throw err;
    }
  }

  /** The room rules' verdict on this join now (they are applied again when the session starts). */
  private refusalOf(auth: JoinAuth): JoinRefusedError | undefined {
    try {
      this.opts.rooms.checkJoin(auth.roomName, joinRequestOf(auth));
      return undefined;
    } catch (err) {
      if (err instanceof JoinRefusedError) return err;
      throw err;
    }
  }

  /** Upgrades and sends `leave` as the first and only message, then closes (LiveKit's refusals after upgrading). */
  private upgradeWithLeave(req: IncomingMessage, socket: Duplex, head: Buffer, leave: LeaveRequest): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      ws.send(new SignalResponse({ message: { case: 'leave', value: leave } }).toBinary());
      ws.close(1000);
    });
  }

  /** WebSocket upgrades. Never throws; rejections are plain HTTP responses with CORS. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.opts.logger.debug({ err }, 'upgrade socket error'));
    this.handleUpgradeAsync(req, socket, head).catch((err: unknown) => {
      this.opts.logger.error({ err }, 'upgrade handler failed');
      rejectUpgrade(socket, 500, 'internal error');
    });
  }

  private async handleUpgradeAsync(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = parseUrl(req);
    if (!url) return rejectUpgrade(socket, 400, 'bad request url');
    const r = route(url.pathname);
    if (r === 'v1' && this.opts.isSignalV1Enabled !== true) return rejectUpgrade(socket, 404, V1_NOT_SUPPORTED);
    if (r !== 'rtc' && r !== 'v1') return rejectUpgrade(socket, 404, 'not found');
    if (this.closing) return rejectUpgrade(socket, 503, 'server is shutting down');
    const result = await this.authorize(req, url, r === 'v1');
    if ('error' in result) {
      this.opts.logger.info({ status: result.status, error: result.error }, 'signal connection rejected');
      return rejectUpgrade(socket, result.status, result.error);
    }
    if (socket.destroyed) return;
    const { auth, params } = result;
    const refusal = this.refusalOf(auth);
    if (refusal?.code === 'room_not_found') {
      this.opts.logger.info({ room: auth.roomName, participant: auth.identity }, 'join refused: the room does not exist (auto_create off)');
      return rejectUpgrade(socket, 404, refusal.message);
    }
    if (refusal?.code === 'draining') {
      this.opts.logger.info({ room: auth.roomName, participant: auth.identity }, 'join refused: draining, no new rooms');
      return rejectUpgrade(socket, DRAINING_STATUS, refusal.message);
    }
    if (params.isReconnect) {
      const target = this.resumeTarget(auth, params);
      if ('refusal' in target) {
        // As LiveKit: the first and only message asks for a full reconnect (a fresh join, a new sid).
        this.opts.logger.info(
          { room: auth.roomName, participant: auth.identity, pID: params.sid, reason: target.refusal },
          `resume refused (${target.refusal}); asking the client for a full reconnect`,
        );
        const leave = new LeaveRequest({ reason: DisconnectReason.STATE_MISMATCH, action: LeaveRequest_Action.RECONNECT, canReconnect: true });
        return this.upgradeWithLeave(req, socket, head, leave);
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.resumeSession(ws, auth, target.room, target.participant, params));
      return;
    }
    if (refusal) {
      // LiveKit: the room refuses the join (max participants), the participant closes with JOIN_FAILURE.
      this.opts.logger.info({ room: auth.roomName, participant: auth.identity }, `join refused: ${refusal.message}`);
      return this.upgradeWithLeave(req, socket, head, new LeaveRequest({ reason: DisconnectReason.JOIN_FAILURE, action: LeaveRequest_Action.DISCONNECT }));
    }
    const sid = newParticipantSid();
    const logger = this.opts.logger.child({ room: auth.roomName, participant: auth.identity, pID: sid });
    this.wss.handleUpgrade(req, socket, head, (ws) => this.startSession(ws, auth, params, sid, logger));
  }

  /** The participant a `reconnect=1` connection resumes, or why it cannot. */
  private resumeTarget(auth: JoinAuth, params: ConnectParams): { room: Room; participant: Participant } | { refusal: string } {
    if (params.sid === '') return { refusal: 'no participant sid given' };
    const room = this.opts.rooms.getRoom(auth.roomName);
    if (!room || room.isClosed) return { refusal: 'the room is gone' };
    const participant = room.getParticipant(params.sid);
    if (!participant) return { refusal: `unknown participant sid ${params.sid}` };
    if (participant.identity !== auth.identity) return { refusal: 'the token names another identity than the participant' };
    const refusal = participant.resumeRefusal();
    return refusal !== undefined ? { refusal } : { room, participant };
  }

  /** Reattaches a new WebSocket to a participant that still exists (docs/resume.md). */
  private resumeSession(ws: WebSocket, auth: JoinAuth, room: Room, participant: Participant, params: ConnectParams): void {
    // Checked again: the participant may have left while the upgrade completed.
    const refusal = participant.resumeRefusal();
    if (refusal !== undefined || room.getParticipant(participant.sid) !== participant) {
      participant.logger.info({ reason: refusal ?? 'left' }, 'resume refused after the upgrade; asking for a full reconnect');
      ws.on('error', () => {});
      const leave = new LeaveRequest({ reason: DisconnectReason.STATE_MISMATCH, action: LeaveRequest_Action.RECONNECT, canReconnect: true });
      ws.send(new SignalResponse({ message: { case: 'leave', value: leave } }).toBinary());
      ws.close(1000);
      return;
    }
    // SimulateScenario disconnect_signal_on_resume(_no_messages): the resume's connection is closed on purpose.
    const trap = this.scenarios.resumeTrap(room.name, participant.identity);
    if (trap === 'close_before_messages') {
      participant.logger.info('simulate: closing the resume connection before any message');
      ws.on('error', () => {});
      ws.close(1000);
      return;
    }
    const sink = webSocketSink(ws, { logger: participant.logger });
    new SignalSession({ ws, participant, sink, clock: this.opts.clock, onSimulate: (s) => this.scenarios.apply(room, participant, s, participant.logger) });
    participant.logger.info('signal connection resumed');
    participant.resume(sink, room.reconnectResponse(participant));
    if (params.publisherOffer !== undefined) answerBundledOffer(participant, params.publisherOffer);
    if (trap === 'close_after_messages' && !participant.isClosed) {
      participant.logger.info('simulate: closing the resumed signal connection after its messages');
      sink.close();
      return;
    }
    if (!participant.isClosed) this.startTokenRefresher(ws, participant, auth);
  }

  /** Refresh tokens for the participant while this WebSocket is open. */
  private startTokenRefresher(ws: WebSocket, participant: Participant, auth: JoinAuth): void {
    const apiSecret = this.opts.keys[auth.claims.apiKey];
    if (apiSecret === undefined) return;
    const refresher = new TokenRefresher({
      participant,
      claims: auth.claims,
      apiSecret,
      clock: this.opts.clock,
      ...(this.opts.tokenRefreshIntervalMs !== undefined ? { intervalMs: this.opts.tokenRefreshIntervalMs } : {}),
    });
    ws.once('close', () => refresher.stop());
    refresher.start();
  }

  private startSession(ws: WebSocket, auth: JoinAuth, params: ConnectParams, sid: string, logger: Logger): void {
    let participant: Participant | undefined;
    let media: ParticipantMedia | undefined;
    try {
      const room = this.opts.rooms.roomForJoin(auth.roomName, joinRequestOf(auth));
      // The participant's own lines, its signal session's and its media session's also name the room's sid:
      // the media session is created only now that the room is known.
      const participantLogger = logger.child({ roomID: room.sid });
      media = this.opts.mediaFactory.createParticipantMedia({
        participantSid: sid, identity: auth.identity, logger: participantLogger, isAdaptiveStream: params.adaptiveStream,
        roomName: room.name, logBindings: { room: auth.roomName, participant: auth.identity, pID: sid, roomID: room.sid },
        ...(params.subscriberAllowPause !== undefined ? { subscriberAllowPause: params.subscriberAllowPause } : {}),
        ...(this.icePreferences.get(room.name, auth.identity) === 'tcp' ? { candidateProtocol: 'tcp' as const } : {}),
        ...(params.isSinglePeerConnection ? { isSinglePeerConnection: true } : {}),
      });
      participant = new Participant({
        sid,
        claims: auth.claims,
        grant: auth.grant,
        autoSubscribe: params.autoSubscribe,
        protocol: params.protocol,
        clientProtocol: params.clientProtocol,
        capabilities: params.capabilities,
        media,
        host: room,
        clock: this.opts.clock,
        logger: participantLogger,
        ...(this.opts.publishCodecs ? { publishCodecs: this.opts.publishCodecs } : {}),
        ...(this.opts.resumeTimeoutMs !== undefined ? { resumeTimeoutMs: this.opts.resumeTimeoutMs } : {}),
        ...(params.isSinglePeerConnection ? { isSinglePeerConnection: true } : {}),
      });
      const sink = webSocketSink(ws, { logger: participantLogger });
      participant.attachSink(sink);
      const joined = participant;
      new SignalSession({ ws, participant, sink, clock: this.opts.clock, onSimulate: (s) => this.scenarios.apply(room, joined, s, participantLogger) });
      participantLogger.debug(
        { sdk: params.sdk, version: params.sdkVersion, protocol: params.protocol, signal: params.isSinglePeerConnection ? 'v1' : 'v0' },
        'signal connected',
      );
      room.join(participant);
      // v1: the offer bundled with the join is answered right after the JoinResponse (and the subscriptions the join made).
      if (params.publisherOffer !== undefined && !participant.isClosed) answerBundledOffer(participant, params.publisherOffer);
      if (!participant.isClosed) this.startTokenRefresher(ws, participant, auth);
    } catch (err) {
      if (err instanceof JoinRefusedError) logger.info(`join refused: ${err.message}`);
      else logger.error({ err }, 'join failed');
      if (participant) participant.close(DisconnectReason.JOIN_FAILURE, { sendLeave: true });
      else {
        media?.close();
        ws.send(
          new SignalResponse({
            message: { case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.JOIN_FAILURE, action: LeaveRequest_Action.DISCONNECT }) },
          }).toBinary(),
        );
        ws.close(1011);
      }
    }
  }

  /** Stops accepting sessions and drops remaining sockets. */
  close(): void {
    this.closing = true;
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}

function rejectUpgrade(socket: Duplex, status: number, body: string): void {
  if (socket.destroyed) return;
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    ...Object.entries(CORS_HEADERS).map(([k, v]) => `${k}: ${v}`),
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
