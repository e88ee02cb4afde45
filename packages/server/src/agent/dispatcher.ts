// Agent dispatch (LiveKit pkg/rtc/room.go agent dispatches, pkg/service/agentservice.go JobRequest, pkg/agent/worker.go
// AssignJob). A dispatch names an agent (empty: the automatic one each new room gets); each dispatch launches one JT_ROOM
// job for workers registered with exactly that agent name, offered to the least-loaded available worker, then to the
// next on decline or timeout; pending until a worker can take it. Pure: no sockets, time from the clock.
import { AgentDispatch, AgentDispatchState, Job, JobState, JobStatus, JobType, WorkerStatus } from '@livekit/protocol';
import type { AvailabilityResponse, ParticipantPermission, Room as RoomInfo, UpdateJobStatus } from '@livekit/protocol';
import { randomBase62 } from '@atrium/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';

/** LiveKit's AssignJobTimeout: how long a worker has to answer an AvailabilityRequest. */
export const AVAILABILITY_TIMEOUT_MS = 10_000;

export interface WorkerRegistration {
  id: string;
  agentName: string;
  namespace: string;
  jobType: JobType;
  version: string;
  permissions: ParticipantPermission;
}

/** What the dispatcher asks the transport to send. Must not throw. */
export interface DispatcherSink {
  sendAvailability(workerId: string, job: Job): void;
  sendAssignment(workerId: string, job: Job, answer: AvailabilityResponse): void;
  sendTermination(workerId: string, jobId: string): void;
}

export interface DispatcherOptions {
  clock: Clock;
  logger: Logger;
  sink: DispatcherSink;
  availabilityTimeoutMs?: number;
}

interface WorkerEntry extends WorkerRegistration {
  status: WorkerStatus;
  load: number;
}

interface JobEntry {
  job: Job;
  roomName: string;
  /** The dispatch that launched it (none for simulate_job). */
  dispatchId?: string;
  /** Workers already offered this job (not offered again). */
  attempted: Set<string>;
  /** Only this worker may take it (simulate_job). */
  onlyWorkerId?: string;
  offeredTo?: string;
  timer?: TimerHandle;
  assignedTo?: string;
}

/** A read-only view of a job, for tests, logs and (later) ListDispatch. */
export interface JobView {
  id: string;
  roomName: string;
  dispatchId: string;
  agentName: string;
  status: JobStatus;
  offeredTo: string | undefined;
  assignedTo: string | undefined;
  error: string;
}

export class Dispatcher {
  private readonly opts: DispatcherOptions;
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly jobs = new Map<string, JobEntry>();
  /** Dispatches by id; `state.jobs` holds every job each launched (ended ones with their final state). */
  private readonly dispatches = new Map<string, AgentDispatch>();

  constructor(opts: DispatcherOptions) {
    this.opts = opts;
  }

  get workerCount(): number {
    return this.workers.size;
  }

  addWorker(reg: WorkerRegistration): void {
    this.workers.set(reg.id, { ...reg, status: WorkerStatus.WS_AVAILABLE, load: 0 });
    this.opts.logger.info({ workerID: reg.id, agentName: reg.agentName, jobType: JobType[reg.jobType], namespace: reg.namespace, version: reg.version }, 'agent worker registered');
    this.offerPending();
  }

  /** update_worker: status (when given) and load. */
  updateWorker(workerId: string, update: { status?: WorkerStatus | undefined; load: number }): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    if (update.status !== undefined && update.status !== w.status) {
      w.status = update.status;
      this.opts.logger.debug({ workerID: workerId, status: WorkerStatus[w.status] }, 'agent worker status changed');
    }
    w.load = Number.isFinite(update.load) ? update.load : 0;
    if (w.status === WorkerStatus.WS_AVAILABLE) this.offerPending();
  }

  /** The worker disconnected: its offers move on; its running jobs end as failed (no restart yet). */
  removeWorker(workerId: string): void {
    if (!this.workers.delete(workerId)) return;
    this.opts.logger.info({ workerID: workerId }, 'agent worker deregistered');
    for (const entry of [...this.jobs.values()]) {
      if (entry.offeredTo === workerId) this.offerNext(entry, 'worker closed');
      else if (entry.assignedTo === workerId) {
        this.opts.logger.warn({ jobID: entry.job.id, workerID: workerId, room: entry.roomName }, 'agent job ended: its worker disconnected');
        this.endJob(entry, JobStatus.JS_FAILED, 'agent worker disconnected');
      }
    }
  }

  /** A room started: the automatic dispatch (empty agent name) and its JT_ROOM job. Returns the job id. */
  roomStarted(room: RoomInfo): string {
    return this.launch(room, { agentName: '', metadata: '' }).jobId;
  }

  /** An explicit dispatch (CreateDispatch): its JT_ROOM job goes to workers registered with `agentName`. */
  createDispatch(room: RoomInfo, req: { agentName: string; metadata: string }): AgentDispatch {
    return this.launch(room, req).dispatch.clone();
  }

  /** Dispatches of a room (all, or the one with `dispatchId`), copies with their jobs. */
  listDispatches(roomName: string, dispatchId = ''): AgentDispatch[] {
    return [...this.dispatches.values()]
      .filter((d) => d.room === roomName && (dispatchId === '' || d.id === dispatchId))
      .map((d) => d.clone());
  }

  /**
   * DeleteDispatch: the dispatch goes; its running jobs get a JobTermination, offers and pending jobs are dropped.
   * Undefined when the room has no such dispatch.
   */
  deleteDispatch(roomName: string, dispatchId: string): AgentDispatch | undefined {
    const d = this.dispatches.get(dispatchId);
    if (!d || d.room !== roomName) return undefined;
    this.dispatches.delete(dispatchId);
    for (const entry of [...this.jobs.values()]) {
      if (entry.dispatchId !== dispatchId) continue;
      if (entry.assignedTo !== undefined) {
        this.opts.logger.info({ jobID: entry.job.id, workerID: entry.assignedTo, dispatchID: dispatchId }, 'agent dispatch deleted; terminating its job');
        this.opts.sink.sendTermination(entry.assignedTo, entry.job.id);
      }
      this.endJob(entry, JobStatus.JS_SUCCESS, '');
    }
    if (d.state) d.state.deletedAt = this.nowNs();
    return d.clone();
  }

  /** A room ended: its assigned jobs get a JobTermination; offers, pending jobs and its dispatches are dropped. */
  roomFinished(roomName: string): void {
    for (const entry of [...this.jobs.values()]) {
      if (entry.roomName !== roomName || entry.onlyWorkerId !== undefined) continue;
      if (entry.assignedTo !== undefined) this.opts.sink.sendTermination(entry.assignedTo, entry.job.id);
      this.endJob(entry, JobStatus.JS_SUCCESS, '');
    }
    for (const d of [...this.dispatches.values()]) if (d.room === roomName) this.dispatches.delete(d.id);
  }

  /** simulate_job: a job with the given (or a made-up) room, offered to this worker only, as LiveKit. */
  simulateJob(workerId: string, room: RoomInfo, participant: Job['participant']): string | undefined {
    const w = this.workers.get(workerId);
    if (!w) return undefined;
    const job = new Job({
      id: `AJ_${randomBase62()}`,
      type: participant ? JobType.JT_PUBLISHER : JobType.JT_ROOM,
      room,
      ...(participant ? { participant } : {}),
      namespace: w.namespace,
      agentName: w.agentName,
      state: new JobState({ status: JobStatus.JS_PENDING }),
    });
    const entry: JobEntry = { job, roomName: room.name, attempted: new Set(), onlyWorkerId: workerId };
    this.jobs.set(job.id, entry);
    this.offer(entry, w);
    return job.id;
  }

  /** The worker's AvailabilityResponse. Answers for jobs not offered to it are logged and ignored (as LiveKit). */
  answer(workerId: string, res: AvailabilityResponse): void {
    const entry = this.jobs.get(res.jobId);
    if (!entry || entry.offeredTo !== workerId) {
      this.opts.logger.warn({ workerID: workerId, jobID: res.jobId }, 'availability response for a job not offered to this worker');
      return;
    }
    this.clearOffer(entry);
    if (res.terminate) {
      this.endJob(entry, JobStatus.JS_SUCCESS, '');
      return;
    }
    if (!res.available) {
      this.offerNext(entry, 'worker not available');
      return;
    }
    const now = BigInt(Math.round(this.opts.clock.wallMs())) * 1_000_000n;
    const state = entry.job.state ?? new JobState();
    state.status = JobStatus.JS_RUNNING;
    state.workerId = workerId;
    state.participantIdentity = res.participantIdentity || `agent-${entry.job.id}`;
    state.startedAt = now;
    state.updatedAt = now;
    entry.job.state = state;
    entry.assignedTo = workerId;
    this.opts.logger.info({ jobID: entry.job.id, workerID: workerId, room: entry.roomName }, 'assigned agent job to worker');
    this.opts.sink.sendAssignment(workerId, entry.job, res);
  }

  /** update_job from the worker running the job. */
  updateJob(workerId: string, update: UpdateJobStatus): void {
    const entry = this.jobs.get(update.jobId);
    if (!entry || entry.assignedTo !== workerId) {
      this.opts.logger.debug({ workerID: workerId, jobID: update.jobId }, 'job update for an unknown job');
      return;
    }
    const state = entry.job.state ?? new JobState();
    state.status = update.status;
    state.error = update.error;
    state.updatedAt = BigInt(Math.round(this.opts.clock.wallMs())) * 1_000_000n;
    entry.job.state = state;
    if (update.status === JobStatus.JS_SUCCESS || update.status === JobStatus.JS_FAILED) {
      this.opts.logger.info({ jobID: entry.job.id, workerID: workerId, status: JobStatus[update.status], error: update.error }, 'agent job ended');
      this.endJob(entry, update.status, update.error);
    }
  }

  listJobs(): JobView[] {
    return [...this.jobs.values()].map((e) => ({
      id: e.job.id,
      roomName: e.roomName,
      dispatchId: e.dispatchId ?? '',
      agentName: e.job.agentName,
      status: e.job.state?.status ?? JobStatus.JS_PENDING,
      offeredTo: e.offeredTo,
      assignedTo: e.assignedTo,
      error: e.job.state?.error ?? '',
    }));
  }

  /** Drops every timer and job. Idempotent. */
  close(): void {
    for (const entry of this.jobs.values()) this.clearOffer(entry);
    this.jobs.clear();
    this.workers.clear();
    this.dispatches.clear();
  }

  private launch(room: RoomInfo, req: { agentName: string; metadata: string }): { dispatch: AgentDispatch; jobId: string } {
    const dispatch = new AgentDispatch({
      id: `AD_${randomBase62()}`,
      agentName: req.agentName,
      room: room.name,
      metadata: req.metadata,
      state: new AgentDispatchState({ createdAt: this.nowNs() }),
    });
    this.dispatches.set(dispatch.id, dispatch);
    const job = new Job({
      id: `AJ_${randomBase62()}`,
      dispatchId: dispatch.id,
      type: JobType.JT_ROOM,
      room,
      agentName: req.agentName,
      metadata: req.metadata,
      state: new JobState({ status: JobStatus.JS_PENDING }),
    });
    dispatch.state?.jobs.push(job);
    const entry: JobEntry = { job, roomName: room.name, dispatchId: dispatch.id, attempted: new Set() };
    this.jobs.set(job.id, entry);
    this.opts.logger.info({ dispatchID: dispatch.id, jobID: job.id, room: room.name, agentName: req.agentName }, 'agent dispatch created');
    this.offerNext(entry, undefined);
    return { dispatch, jobId: job.id };
  }

  private nowNs(): bigint {
    return BigInt(Math.round(this.opts.clock.wallMs())) * 1_000_000n;
  }

  /** The least-loaded available worker that may take this job and was not offered it yet (ties: first registered). */
  private choose(entry: JobEntry): WorkerEntry | undefined {
    let best: WorkerEntry | undefined;
    for (const w of this.workers.values()) {
      if (entry.onlyWorkerId !== undefined && w.id !== entry.onlyWorkerId) continue;
      if (entry.onlyWorkerId === undefined && (w.agentName !== entry.job.agentName || w.jobType !== entry.job.type)) continue;
      if (w.status !== WorkerStatus.WS_AVAILABLE || entry.attempted.has(w.id) || w.load >= 1) continue;
      if (!best || w.load < best.load) best = w;
    }
    return best;
  }

  private offerNext(entry: JobEntry, reason: string | undefined): void {
    this.clearOffer(entry);
    if (reason) this.opts.logger.info({ jobID: entry.job.id, room: entry.roomName, reason }, 'agent job not taken; trying the next worker');
    if (entry.onlyWorkerId !== undefined) {
      this.endJob(entry, JobStatus.JS_FAILED, reason ?? 'not taken');
      return;
    }
    const w = this.choose(entry);
    if (!w) {
      this.opts.logger.info({ jobID: entry.job.id, room: entry.roomName }, 'no agent worker available; job pending');
      return;
    }
    this.offer(entry, w);
  }

  private offer(entry: JobEntry, w: WorkerEntry): void {
    entry.attempted.add(w.id);
    entry.offeredTo = w.id;
    entry.job.namespace = w.namespace;
    entry.timer = this.opts.clock.setTimeout(() => {
      entry.timer = undefined;
      if (entry.offeredTo === w.id) this.offerNext(entry, 'availability timeout');
    }, this.opts.availabilityTimeoutMs ?? AVAILABILITY_TIMEOUT_MS);
    this.opts.sink.sendAvailability(w.id, entry.job);
  }

  /** Pending jobs (no offer out, not assigned) get another try. */
  private offerPending(): void {
    for (const entry of [...this.jobs.values()]) {
      if (entry.offeredTo === undefined && entry.assignedTo === undefined && entry.onlyWorkerId === undefined) {
        const w = this.choose(entry);
        if (w) this.offer(entry, w);
      }
    }
  }

  private clearOffer(entry: JobEntry): void {
    if (entry.timer !== undefined) this.opts.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.offeredTo = undefined;
  }

  private endJob(entry: JobEntry, status: JobStatus, error: string): void {
    this.clearOffer(entry);
    const state = entry.job.state ?? new JobState();
    state.status = status;
    state.error = error;
    entry.job.state = state;
    this.jobs.delete(entry.job.id);
  }
}
