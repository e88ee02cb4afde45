// The agent worker endpoint (LiveKit pkg/service/agentservice.go): `/agent` WebSocket upgrades with a token carrying
// the `agent` grant; WorkerMessage/ServerMessage protobuf frames, handled in order per worker; jobs from the Dispatcher.
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket, RawData } from 'ws';
import {
  JobAssignment, JobTermination, JobType, ParticipantPermission, RegisterWorkerResponse, Room as RoomInfo, ServerInfo,
  ServerInfo_Edition, ServerMessage, WorkerMessage, WorkerPong,
} from '@livekit/protocol';
import type { AvailabilityResponse, Job, RegisterWorkerRequest } from '@livekit/protocol';
import { createAccessToken, randomBase62, resolveVideoGrant, TokenError, verifyAccessToken } from '@atrium/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';
import { extractToken } from '../auth/join-auth.js';
import { PROTOCOL_VERSION, SERVER_VERSION } from '../rtc/join-response.js';
import { Dispatcher } from './dispatcher.js';
import type { RoomEvents } from '../rtc/room-events.js';

/** LiveKit's RegisterTimeout: a worker must register within this time. */
export const REGISTER_TIMEOUT_MS = 10_000;
/** The attribute LiveKit puts on agent participants (AgentNameAttributeKey). */
export const AGENT_NAME_ATTRIBUTE = 'lk.agent.name';
/** Agent protocol version reported in ServerInfo (LiveKit's agent.CurrentProtocol). */
const AGENT_PROTOCOL = 1;
const MAX_FRAME_BYTES = 1024 * 1024;

export interface AgentServiceOptions {
  keys: Readonly<Record<string, string>>;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  availabilityTimeoutMs?: number;
  /** `enable_recording` / `enable_redaction` on every job (LiveKit's agents.enable_user_data_recording / _redaction). */
  enableUserDataRecording?: boolean;
  enableUserDataRedaction?: boolean;
  /** Largest message a worker may send, bytes (LiveKit's limit.agent_signal_message_size_limit); 0 = no limit. Larger: closed with 1009. */
  maxMessageBytes?: number;
}

/** `/agent`, with whatever prefix the worker's URL has. */
export function isAgentPath(url: string | undefined): boolean {
  try {
    const path = new URL(url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    return path.endsWith('/agent');
  } catch {
    return false;
  }
}

interface WorkerConn {
  id: string;
  ws: WebSocket;
  apiKey: string;
  logger: Logger;
  registration?: RegisterWorkerRequest & { permissions: ParticipantPermission };
  queue: Promise<void>;
  registerTimer?: TimerHandle;
}

export class AgentService {
  readonly dispatcher: Dispatcher;
  private readonly opts: AgentServiceOptions;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<string, WorkerConn>();
  private closed = false;

  constructor(opts: AgentServiceOptions) {
    this.opts = opts;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? MAX_FRAME_BYTES, perMessageDeflate: false });
    this.dispatcher = new Dispatcher({
      clock: opts.clock,
      logger: opts.logger,
      ...(opts.availabilityTimeoutMs !== undefined ? { availabilityTimeoutMs: opts.availabilityTimeoutMs } : {}),
      enableRecording: opts.enableUserDataRecording ?? false,
      enableRedaction: opts.enableUserDataRedaction ?? false,
      sink: {
        sendAvailability: (workerId, job) => this.send(workerId, { case: 'availability', value: { job } }),
        sendAssignment: (workerId, job, answer) => this.assign(workerId, job, answer),
        sendTermination: (workerId, jobId) => this.send(workerId, { case: 'termination', value: new JobTermination({ jobId }) }),
      },
    });
  }

  /** The room hooks automatic dispatch listens to. */
  roomEvents(): RoomEvents {
    const open = (fn: () => void): void => {
      if (!this.closed) fn();
    };
    return {
      roomStarted: (room, config) => open(() => this.dispatcher.roomStarted(room, config.agents)),
      roomFinished: (room) => this.dispatcher.roomFinished(room.name),
      participantJoined: (room, p) => open(() => this.dispatcher.participantJoined(room, p)),
      participantLeft: (room, p) => open(() => this.dispatcher.participantLeft(room, p)),
      trackPublished: (room, p) => open(() => this.dispatcher.trackPublished(room, p)),
    };
  }

  /** Upgrades `/agent`; refuses (plain HTTP) a missing/invalid token or one without the agent grant. Never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.opts.logger.debug({ err }, 'agent upgrade socket error'));
    this.handleUpgradeAsync(req, socket, head).catch((err: unknown) => {
      this.opts.logger.error({ err }, 'agent upgrade failed');
      rejectUpgrade(socket, 500, 'internal error');
    });
  }

  private async handleUpgradeAsync(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closed) return rejectUpgrade(socket, 503, 'server is shutting down');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = extractToken(url.searchParams, req.headers);
    const refuse = (status: number, message: string): void => {
      this.opts.logger.info({ status, error: message }, 'agent worker connection refused');
      rejectUpgrade(socket, status, message);
    };
    if (!token) return refuse(401, 'no authorization token: pass Authorization: Bearer or access_token');
    let apiKey: string;
    try {
      const claims = await verifyAccessToken(token, this.opts.keys);
      if (!resolveVideoGrant(claims.video).agent) return refuse(401, 'permissions denied: the token has no agent grant (video.agent)');
      apiKey = claims.apiKey;
    } catch (err) {
      if (err instanceof TokenError) return refuse(401, `invalid authorization token: ${err.message}`);
      throw err;
    }
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.startWorker(ws, apiKey));
  }

  private startWorker(ws: WebSocket, apiKey: string): void {
    const id = `AW_${randomBase62()}`;
    const conn: WorkerConn = { id, ws, apiKey, logger: this.opts.logger.child({ workerID: id }), queue: Promise.resolve() };
    this.conns.set(id, conn);
    conn.registerTimer = this.opts.clock.setTimeout(() => {
      if (!conn.registration) this.closeWorker(conn, 1008, 'worker did not register in time');
    }, REGISTER_TIMEOUT_MS);
    conn.logger.debug('agent worker connected');
    ws.on('error', (err) => conn.logger.debug({ err }, 'agent worker socket error'));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      conn.queue = conn.queue.then(() => this.handleFrame(conn, data, isBinary)).catch((err: unknown) => {
        conn.logger.error({ err }, 'agent worker message failed');
      });
    });
    ws.on('close', () => {
      this.opts.clock.clearTimeout(conn.registerTimer!);
      this.conns.delete(id);
      if (conn.registration) this.dispatcher.removeWorker(id);
      conn.logger.debug('agent worker disconnected');
    });
  }

  private handleFrame(conn: WorkerConn, data: RawData, isBinary: boolean): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    let msg: WorkerMessage;
    try {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      msg = isBinary ? WorkerMessage.fromBinary(new Uint8Array(bytes)) : WorkerMessage.fromJsonString(bytes.toString('utf8'));
    } catch (err) {
      // As LiveKit: a frame that cannot be read ends this worker's connection (no one else's).
      conn.logger.warn({ err: (err as Error).message }, 'malformed agent worker message; closing the connection');
      this.closeWorker(conn, 1007, 'malformed WorkerMessage');
      return;
    }
    const m = msg.message;
    if (m.case === 'register') return this.register(conn, m.value);
    if (!conn.registration) {
      conn.logger.warn({ message: m.case ?? 'unknown' }, 'agent worker message before register; ignored');
      return;
    }
    switch (m.case) {
      case 'ping':
        this.send(conn.id, { case: 'pong', value: new WorkerPong({ lastTimestamp: m.value.timestamp, timestamp: BigInt(Math.round(this.opts.clock.wallMs())) }) });
        return;
      case 'updateWorker':
        this.dispatcher.updateWorker(conn.id, { status: m.value.status, load: m.value.load });
        return;
      case 'availability':
        this.dispatcher.answer(conn.id, m.value);
        return;
      case 'updateJob':
        this.dispatcher.updateJob(conn.id, m.value);
        return;
      case 'simulateJob': {
        const room = m.value.room ?? new RoomInfo({ name: `simulated-${randomBase62()}`, sid: `RM_${randomBase62()}` });
        this.dispatcher.simulateJob(conn.id, room, m.value.participant);
        return;
      }
      case 'migrateJob':
        conn.logger.debug({ jobIDs: m.value.jobIds }, 'migrate_job is not implemented (as LiveKit OSS); ignored');
        return;
      default:
        conn.logger.warn('unknown agent worker message; ignored');
    }
  }

  private register(conn: WorkerConn, req: RegisterWorkerRequest): void {
    if (conn.registration) {
      conn.logger.warn('agent worker registered twice; ignored');
      return;
    }
    if (!(req.type in JobType) || (req.type !== JobType.JT_ROOM && req.type !== JobType.JT_PUBLISHER && req.type !== JobType.JT_PARTICIPANT)) {
      conn.logger.warn({ type: req.type }, 'agent worker registered an unknown job type; closing');
      this.closeWorker(conn, 1008, 'unknown job type');
      return;
    }
    const permissions = req.allowedPermissions ?? new ParticipantPermission({ canSubscribe: true, canPublish: true, canPublishData: true, canUpdateMetadata: true });
    conn.registration = Object.assign(req, { permissions });
    this.opts.clock.clearTimeout(conn.registerTimer!);
    this.send(conn.id, {
      case: 'register',
      value: new RegisterWorkerResponse({
        workerId: conn.id,
        serverInfo: new ServerInfo({
          edition: ServerInfo_Edition.Standard,
          version: SERVER_VERSION,
          protocol: PROTOCOL_VERSION,
          agentProtocol: AGENT_PROTOCOL,
          nodeId: this.opts.nodeId,
        }),
      }),
    });
    this.dispatcher.addWorker({ id: conn.id, agentName: req.agentName, namespace: req.namespace ?? '', jobType: req.type, version: req.version, permissions, deployment: req.deployment });
  }

  /** Mints the job participant's token (LiveKit BuildAgentToken) with the worker's API key and sends the assignment. */
  private assign(workerId: string, job: Job, answer: AvailabilityResponse): void {
    const conn = this.conns.get(workerId);
    const secret = conn ? this.opts.keys[conn.apiKey] : undefined;
    if (!conn?.registration || secret === undefined || !job.room) return;
    const perm = conn.registration.permissions;
    const attributes = { ...answer.participantAttributes, [AGENT_NAME_ATTRIBUTE]: conn.registration.agentName };
    createAccessToken({
      apiKey: conn.apiKey,
      apiSecret: secret,
      identity: job.state?.participantIdentity || `agent-${job.id}`,
      ...(answer.participantName ? { name: answer.participantName } : {}),
      ...(answer.participantMetadata ? { metadata: answer.participantMetadata } : {}),
      attributes,
      kind: 'agent',
      video: {
        roomJoin: true,
        room: job.room.name,
        canPublish: perm.canPublish,
        canSubscribe: perm.canSubscribe,
        canPublishData: perm.canPublishData,
        canUpdateOwnMetadata: perm.canUpdateMetadata,
        hidden: perm.hidden,
        agent: true,
      },
    }).then(
      (token) => this.send(workerId, { case: 'assignment', value: new JobAssignment({ job, token }) }),
      (err: unknown) => conn.logger.error({ err, jobID: job.id }, 'could not mint the agent token'),
    );
  }

  private send(workerId: string, message: ServerMessage['message'] | { case: 'availability'; value: { job: Job } }): void {
    const conn = this.conns.get(workerId);
    if (!conn || conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.send(new ServerMessage({ message } as ConstructorParameters<typeof ServerMessage>[0]).toBinary());
  }

  private closeWorker(conn: WorkerConn, code: number, reason: string): void {
    conn.ws.close(code, reason);
  }

  /** Closes every worker connection and the dispatcher. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.conns.values()) c.ws.terminate();
    this.wss.close();
    this.dispatcher.close();
  }
}

function rejectUpgrade(socket: Duplex, status: number, body: string): void {
  if (socket.destroyed) return;
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
