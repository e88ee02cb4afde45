// Dispatcher choices on a manual clock: workers x load x status x names -> chosen worker (random weighted by spare
// capacity, the draw injected); decline, timeout and disconnect move the job on; no worker -> pending until one
// registers; room end -> termination; room configuration dispatches; participant and publisher jobs; restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AvailabilityResponse, DisconnectReason, JobRestartPolicy, JobStatus, JobType, ParticipantInfo, ParticipantInfo_Kind, ParticipantPermission,
  Room as RoomInfo, RoomAgentDispatch, UpdateJobStatus, WorkerStatus,
} from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { Dispatcher, AVAILABILITY_TIMEOUT_MS, MAX_RESTARTS, RESTART_WINDOW_MS } from './dispatcher.js';

interface W {
  id: string;
  agentName?: string;
  jobType?: JobType;
  status?: WorkerStatus;
  load?: number;
  namespace?: string;
  deployment?: string;
}

/** `draw` is the dispatcher's random number (0: the first eligible worker in registration order). */
function setup(workers: W[], draw = 0) {
  const clock = new ManualClock();
  const sent: string[] = [];
  const d = new Dispatcher({
    clock,
    logger: silentLogger,
    random: () => draw,
    sink: {
      sendAvailability: (w, job) => sent.push(`avail ${w} ${job.id}`),
      sendAssignment: (w, job, res) => sent.push(`assign ${w} ${job.id} ${res.participantIdentity}`),
      sendTermination: (w, jobId) => sent.push(`term ${w} ${jobId}`),
    },
  });
  for (const w of workers) addWorker(d, w);
  return { clock, sent, d };
}

function addWorker(d: Dispatcher, w: W): void {
  d.addWorker({
    id: w.id,
    agentName: w.agentName ?? '',
    namespace: w.namespace ?? '',
    jobType: w.jobType ?? JobType.JT_ROOM,
    version: '1',
    permissions: new ParticipantPermission(),
    deployment: w.deployment ?? '',
  });
  if (w.status !== undefined || w.load !== undefined) d.updateWorker(w.id, { status: w.status, load: w.load ?? 0 });
}

const room = (name = 'r1') => new RoomInfo({ name, sid: `RM_${name}` });
const person = (identity: string, reason = DisconnectReason.UNKNOWN_REASON) => new ParticipantInfo({ identity, sid: `PA_${identity}`, disconnectReason: reason });
const agent = (identity: string, reason = DisconnectReason.UNKNOWN_REASON) =>
  new ParticipantInfo({ identity, sid: `PA_${identity}`, kind: ParticipantInfo_Kind.AGENT, disconnectReason: reason });

/** Starts the room; the id of its (first) JT_ROOM job. */
function start(d: Dispatcher, name = 'r1', agents?: RoomAgentDispatch[]): string {
  const [dispatchId] = d.roomStarted(room(name), agents);
  const job = d.listJobs().find((j) => j.dispatchId === dispatchId && j.type === JobType.JT_ROOM);
  assert.ok(job, 'the room job exists');
  return job.id;
}

/** The running job's agent joins the room. */
function agentJoins(d: Dispatcher, jobId: string, name = 'r1'): string {
  const identity = `agent-${jobId}`;
  d.participantJoined(room(name), agent(identity));
  return identity;
}

test('dispatcher: an available worker without an agent name gets the room job, drawn by spare capacity (1 - load)', () => {
  const table: { name: string; workers: W[]; draw?: number; chosen: string | undefined }[] = [
    { name: 'one worker', workers: [{ id: 'a' }], chosen: 'a' },
    // Weights 0.5, 0.9, 0.7 (sum 2.1): a covers [0, 0.5), b [0.5, 1.4), c [1.4, 2.1).
    { name: 'draw in a', workers: [{ id: 'a', load: 0.5 }, { id: 'b', load: 0.1 }, { id: 'c', load: 0.3 }], draw: 0.2, chosen: 'a' },
    { name: 'draw in b', workers: [{ id: 'a', load: 0.5 }, { id: 'b', load: 0.1 }, { id: 'c', load: 0.3 }], draw: 0.5, chosen: 'b' },
    { name: 'draw in c', workers: [{ id: 'a', load: 0.5 }, { id: 'b', load: 0.1 }, { id: 'c', load: 0.3 }], draw: 0.99, chosen: 'c' },
    { name: 'full skipped', workers: [{ id: 'a', status: WorkerStatus.WS_FULL }, { id: 'b', load: 0.9 }], chosen: 'b' },
    { name: 'load 1 skipped', workers: [{ id: 'a', load: 1 }], chosen: undefined },
    { name: 'load 1 never drawn', workers: [{ id: 'a', load: 1 }, { id: 'b', load: 0.5 }], draw: 0, chosen: 'b' },
    { name: 'named agent skipped', workers: [{ id: 'a', agentName: 'x' }, { id: 'b', load: 0.7 }], chosen: 'b' },
    { name: 'publisher type skipped', workers: [{ id: 'a', jobType: JobType.JT_PUBLISHER }], chosen: undefined },
    { name: 'other deployment skipped', workers: [{ id: 'a', deployment: 'staging' }, { id: 'b' }], chosen: 'b' },
    { name: 'no workers', workers: [], chosen: undefined },
    { name: 'all full', workers: [{ id: 'a', status: WorkerStatus.WS_FULL }], chosen: undefined },
  ];
  for (const row of table) {
    const { d, sent } = setup(row.workers, row.draw ?? 0);
    const jobId = start(d);
    assert.deepEqual(sent, row.chosen ? [`avail ${row.chosen} ${jobId}`] : [], row.name);
    assert.equal(d.listJobs()[0]?.offeredTo, row.chosen, row.name);
  }
});

test('dispatcher: accept assigns; decline and timeout move on to the next worker; then none left -> pending', () => {
  const { d, sent, clock } = setup([{ id: 'a', load: 0.1 }, { id: 'b', load: 0.2 }, { id: 'c', load: 0.3 }]);
  const jobId = start(d);
  assert.deepEqual(sent.splice(0), [`avail a ${jobId}`]);
  d.answer('a', new AvailabilityResponse({ jobId, available: false }));
  assert.deepEqual(sent.splice(0), [`avail b ${jobId}`]);
  clock.advance(AVAILABILITY_TIMEOUT_MS - 1);
  assert.deepEqual(sent.splice(0), []);
  clock.advance(1);
  assert.deepEqual(sent.splice(0), [`avail c ${jobId}`]);
  d.answer('b', new AvailabilityResponse({ jobId, available: true })); // late: ignored
  assert.deepEqual(sent.splice(0), []);
  d.answer('c', new AvailabilityResponse({ jobId, available: true, participantIdentity: 'bot' }));
  assert.deepEqual(sent.splice(0), [`assign c ${jobId} bot`]);
  const job = d.listJobs()[0];
  assert.equal(job?.status, JobStatus.JS_RUNNING);
  assert.equal(job?.assignedTo, 'c');
  clock.advance(AVAILABILITY_TIMEOUT_MS * 2);
  assert.deepEqual(sent.splice(0), [], 'no timeout after assignment');
  d.roomFinished('r1');
  assert.deepEqual(sent.splice(0), [`term c ${jobId}`]);
  assert.equal(d.listJobs().length, 0);
});

test('dispatcher: every worker declines -> pending; a new worker registering gets it', () => {
  const { d, sent } = setup([{ id: 'a' }]);
  const jobId = start(d);
  d.answer('a', new AvailabilityResponse({ jobId, available: false }));
  assert.deepEqual(sent.splice(0), [`avail a ${jobId}`]);
  assert.equal(d.listJobs()[0]?.status, JobStatus.JS_PENDING);
  d.addWorker({ id: 'b', agentName: '', namespace: '', jobType: JobType.JT_ROOM, version: '1', permissions: new ParticipantPermission() });
  assert.deepEqual(sent.splice(0), [`avail b ${jobId}`]);
});

test('dispatcher: no worker -> pending until one registers or becomes available', () => {
  const { d, sent } = setup([{ id: 'full', status: WorkerStatus.WS_FULL }]);
  const jobId = start(d);
  assert.deepEqual(sent.splice(0), []);
  d.updateWorker('full', { status: WorkerStatus.WS_AVAILABLE, load: 0.5 });
  assert.deepEqual(sent.splice(0), [`avail full ${jobId}`]);
});

test('dispatcher: the offered worker disconnecting moves the offer on; the running worker disconnecting fails and restarts the job', () => {
  const { d, sent } = setup([{ id: 'a' }, { id: 'b', load: 0.5 }]);
  const jobId = start(d);
  d.removeWorker('a');
  assert.deepEqual(sent.splice(0), [`avail a ${jobId}`, `avail b ${jobId}`]);
  d.answer('b', new AvailabilityResponse({ jobId, available: true }));
  assert.deepEqual(sent.splice(0), [`assign b ${jobId} `]);
  d.removeWorker('b');
  const [restarted] = d.listJobs();
  assert.notEqual(restarted?.id, jobId, 'the failed job is replaced');
  assert.equal(restarted?.status, JobStatus.JS_PENDING, 'no worker left: the new job waits');
  const failed = d.listDispatches('r1')[0]?.state?.jobs.find((j) => j.id === jobId);
  assert.equal(failed?.state?.status, JobStatus.JS_FAILED);
  assert.equal(failed?.state?.error, 'agent worker disconnected');
  d.roomFinished('r1');
  assert.deepEqual(sent.splice(0), [], 'no termination to a gone worker');
  assert.equal(d.listJobs().length, 0);
});

test('dispatcher: job updates end the job; a room ending before assignment just drops it', () => {
  const { d, sent } = setup([{ id: 'a' }]);
  const j1 = start(d, 'r1');
  d.answer('a', new AvailabilityResponse({ jobId: j1, available: true }));
  d.updateJob('a', new UpdateJobStatus({ jobId: j1, status: JobStatus.JS_RUNNING }));
  assert.equal(d.listJobs()[0]?.status, JobStatus.JS_RUNNING);
  d.updateJob('other', new UpdateJobStatus({ jobId: j1, status: JobStatus.JS_FAILED })); // not its job: ignored
  assert.equal(d.listJobs().length, 1);
  d.updateJob('a', new UpdateJobStatus({ jobId: j1, status: JobStatus.JS_SUCCESS }));
  assert.equal(d.listJobs().length, 0);
  const j2 = start(d, 'r2');
  d.roomFinished('r2');
  assert.deepEqual(sent.splice(0), [`avail a ${j1}`, `assign a ${j1} `, `avail a ${j2}`]);
  assert.equal(d.listJobs().length, 0);
  assert.equal(d.counters.succeeded, 1);
});

test('dispatcher: simulate_job offers only to the asking worker; terminate answer ends it', () => {
  const { d, sent } = setup([{ id: 'a', agentName: 'named' }, { id: 'b' }]);
  const jobId = d.simulateJob('a', room('sim'), undefined);
  assert.ok(jobId);
  assert.deepEqual(sent.splice(0), [`avail a ${jobId}`]);
  d.answer('a', new AvailabilityResponse({ jobId, available: false }));
  assert.deepEqual(sent.splice(0), [], 'not offered to others');
  assert.equal(d.listJobs().length, 0);
  const j2 = d.simulateJob('b', room('sim2'), undefined)!;
  d.answer('b', new AvailabilityResponse({ jobId: j2, terminate: true }));
  assert.equal(d.listJobs().length, 0);
});

test('dispatcher: an explicit dispatch goes to workers registered with its agent name only', () => {
  const table: { name: string; workers: W[]; chosen: string | undefined }[] = [
    { name: 'named worker chosen, unnamed not', workers: [{ id: 'a' }, { id: 'b', agentName: 'greeter', load: 0.5 }], chosen: 'b' },
    { name: 'other name skipped', workers: [{ id: 'a', agentName: 'other' }, { id: 'b', agentName: 'greeter' }], chosen: 'b' },
    { name: 'drawn among named', workers: [{ id: 'a', agentName: 'greeter', load: 0.4 }, { id: 'b', agentName: 'greeter', load: 0.2 }], chosen: 'a' },
    { name: 'named but full', workers: [{ id: 'a', agentName: 'greeter', status: WorkerStatus.WS_FULL }], chosen: undefined },
    { name: 'only unnamed workers', workers: [{ id: 'a' }], chosen: undefined },
    { name: 'no workers', workers: [], chosen: undefined },
  ];
  for (const row of table) {
    const { d, sent } = setup(row.workers);
    const dispatch = d.createDispatch(room(), { agentName: 'greeter', metadata: 'm' });
    const job = d.listJobs()[0];
    assert.match(dispatch.id, /^AD_/, row.name);
    assert.equal(job?.dispatchId, dispatch.id, row.name);
    assert.equal(job?.agentName, 'greeter', row.name);
    assert.deepEqual(sent, row.chosen ? [`avail ${row.chosen} ${job?.id}`] : [], row.name);
    assert.equal(job?.offeredTo, row.chosen, row.name);
  }
});

test('dispatcher: a named dispatch stays pending until a worker with that name registers; delete terminates; list', () => {
  const { d, sent } = setup([{ id: 'plain' }]);
  const auto = start(d);
  const dispatch = d.createDispatch(room(), { agentName: 'greeter', metadata: '{"x":1}' });
  const named = d.listJobs().find((j) => j.dispatchId === dispatch.id);
  assert.deepEqual(sent, [`avail plain ${auto}`]);
  assert.equal(named?.offeredTo, undefined);

  d.addWorker({ id: 'other', agentName: 'other', namespace: '', jobType: JobType.JT_ROOM, version: '1', permissions: new ParticipantPermission() });
  assert.equal(sent.length, 1, 'a worker with another name does not get it');
  d.addWorker({ id: 'g', agentName: 'greeter', namespace: '', jobType: JobType.JT_ROOM, version: '1', permissions: new ParticipantPermission() });
  assert.deepEqual(sent.slice(1), [`avail g ${named?.id}`]);
  d.answer('g', new AvailabilityResponse({ jobId: named!.id, available: true, participantIdentity: 'greeter-1' }));
  assert.deepEqual(sent.slice(2), [`assign g ${named?.id} greeter-1`]);

  const listed = d.listDispatches('r1');
  assert.deepEqual(listed.map((x) => x.agentName).sort(), ['', 'greeter']);
  const one = d.listDispatches('r1', dispatch.id);
  assert.equal(one.length, 1);
  assert.equal(one[0]?.metadata, '{"x":1}');
  assert.equal(one[0]?.state?.jobs[0]?.state?.status, JobStatus.JS_RUNNING);
  assert.equal(one[0]?.state?.jobs[0]?.metadata, '{"x":1}');
  assert.deepEqual(d.listDispatches('other-room'), []);

  assert.equal(d.deleteDispatch('other-room', dispatch.id), undefined, 'wrong room');
  const deleted = d.deleteDispatch('r1', dispatch.id);
  assert.equal(deleted?.id, dispatch.id);
  assert.ok((deleted?.state?.deletedAt ?? 0n) > 0n);
  assert.deepEqual(sent.slice(3), [`term g ${named?.id}`]);
  assert.equal(d.deleteDispatch('r1', dispatch.id), undefined, 'already deleted');
  assert.deepEqual(d.listDispatches('r1').map((x) => x.agentName), ['']);
  assert.deepEqual(d.listJobs().map((j) => j.id), [auto]);

  d.roomFinished('r1');
  assert.deepEqual(d.listDispatches('r1'), []);
});

test('dispatcher: deleting a dispatch whose job is offered or pending drops it without a termination', () => {
  const { d, sent, clock } = setup([{ id: 'g', agentName: 'greeter' }]);
  const offered = d.createDispatch(room(), { agentName: 'greeter', metadata: '' });
  assert.equal(sent.length, 1);
  d.deleteDispatch('r1', offered.id);
  clock.advance(AVAILABILITY_TIMEOUT_MS + 1);
  assert.equal(sent.length, 1, 'no termination, no re-offer after the timeout');
  assert.deepEqual(d.listJobs(), []);
});

test('dispatcher: the weighted draw follows spare capacity over many jobs', () => {
  // A deterministic sequence spread over [0, 1).
  let i = 0;
  const clock = new ManualClock();
  const offers = new Map<string, number>();
  const d = new Dispatcher({
    clock,
    logger: silentLogger,
    random: () => ((i++ * 0.6180339887) % 1),
    sink: { sendAvailability: (w) => offers.set(w, (offers.get(w) ?? 0) + 1), sendAssignment: () => {}, sendTermination: () => {} },
  });
  addWorker(d, { id: 'idle', load: 0 });
  addWorker(d, { id: 'busy', load: 0.75 });
  for (let n = 0; n < 1000; n++) d.roomStarted(room(`r${n}`));
  // Weights 1 and 0.25: 80 % and 20 %.
  const idle = offers.get('idle') ?? 0;
  assert.ok(idle > 770 && idle < 830, `idle got ${idle} of 1000`);
  assert.equal(idle + (offers.get('busy') ?? 0), 1000);
});

test("dispatcher: a room's configured agents replace the automatic dispatch", () => {
  const { d, sent } = setup([{ id: 'plain' }, { id: 'x', agentName: 'x' }, { id: 'y', agentName: 'y' }]);
  const agents = [
    new RoomAgentDispatch({ agentName: 'x', metadata: 'mx' }),
    new RoomAgentDispatch({ agentName: 'y', metadata: 'my', restartPolicy: JobRestartPolicy.JRP_NEVER, attributes: { a: '1' } }),
  ];
  const ids = d.roomStarted(room(), agents);
  assert.equal(ids.length, 2);
  const listed = d.listDispatches('r1');
  assert.deepEqual(listed.map((x) => [x.agentName, x.metadata, x.restartPolicy]), [['x', 'mx', JobRestartPolicy.JRP_ON_FAILURE], ['y', 'my', JobRestartPolicy.JRP_NEVER]]);
  const jobs = d.listJobs();
  assert.deepEqual(sent, jobs.map((j) => `avail ${j.agentName} ${j.id}`), 'each to its named worker, none to the unnamed one');
  assert.deepEqual(listed[1]?.state?.jobs[0]?.attributes, { a: '1' });
  // An empty list is the same as none: the automatic dispatch.
  const { d: d2 } = setup([]);
  d2.roomStarted(room(), []);
  assert.deepEqual(d2.listDispatches('r1').map((x) => x.agentName), ['']);
});

test('dispatcher: participant jobs per participant, publisher jobs on the first publish, none for agents', () => {
  const { d, sent } = setup([{ id: 'room' }, { id: 'part', jobType: JobType.JT_PARTICIPANT }, { id: 'pub', jobType: JobType.JT_PUBLISHER }]);
  const roomJob = start(d);
  assert.deepEqual(sent.splice(0), [`avail room ${roomJob}`]);
  d.participantJoined(room(), person('alice'));
  const aliceJob = d.listJobs().find((j) => j.type === JobType.JT_PARTICIPANT && j.participantIdentity === 'alice');
  assert.ok(aliceJob);
  assert.deepEqual(sent.splice(0), [`avail part ${aliceJob.id}`]);
  d.participantJoined(room(), agent('bot'));
  assert.deepEqual(sent.splice(0), [], 'agents launch nothing');
  d.trackPublished(room(), person('alice'));
  d.trackPublished(room(), person('alice'));
  const pubJobs = d.listJobs().filter((j) => j.type === JobType.JT_PUBLISHER);
  assert.equal(pubJobs.length, 1, 'one publisher job however many tracks');
  assert.deepEqual(sent.splice(0), [`avail pub ${pubJobs[0]?.id}`]);
  d.trackPublished(room(), agent('bot'));
  assert.deepEqual(sent.splice(0), []);
  // alice leaves before either job is taken: both dropped; back again, both launched again.
  d.participantLeft(room(), person('alice', DisconnectReason.CLIENT_INITIATED));
  assert.deepEqual(d.listJobs().map((j) => j.id), [roomJob]);
  d.participantJoined(room(), person('alice'));
  d.trackPublished(room(), person('alice'));
  assert.equal(d.listJobs().length, 3);
});

test('dispatcher: participant jobs need a worker of their type registered; a later dispatch covers the participants present', () => {
  const { d, sent } = setup([{ id: 'room' }]);
  start(d);
  d.participantJoined(room(), person('alice'));
  d.trackPublished(room(), person('alice'));
  d.participantJoined(room(), person('bob'));
  assert.equal(d.listJobs().length, 1, 'no participant or publisher workers: no jobs left waiting');
  addWorker(d, { id: 'part', agentName: 'x', jobType: JobType.JT_PARTICIPANT });
  addWorker(d, { id: 'pub', agentName: 'x', jobType: JobType.JT_PUBLISHER });
  sent.splice(0);
  d.createDispatch(room(), { agentName: 'x', metadata: '' });
  const jobs = d.listJobs().filter((j) => j.agentName === 'x');
  assert.deepEqual(
    jobs.map((j) => `${JobType[j.type]} ${j.participantIdentity}`).sort(),
    ['JT_PARTICIPANT alice', 'JT_PARTICIPANT bob', 'JT_PUBLISHER alice', 'JT_ROOM '],
  );
});

test('dispatcher: with workers in several namespaces, one job per namespace, each to its own', () => {
  const { d, sent } = setup([{ id: 'a', namespace: 'ns1' }, { id: 'b', namespace: 'ns2' }, { id: 'c', namespace: 'ns1' }]);
  d.roomStarted(room());
  const jobs = d.listJobs();
  assert.deepEqual(jobs.map((j) => j.namespace).sort(), ['ns1', 'ns2']);
  const ns1 = jobs.find((j) => j.namespace === 'ns1')!;
  assert.deepEqual(sent.sort(), [`avail a ${ns1.id}`, `avail b ${jobs.find((j) => j.namespace === 'ns2')!.id}`].sort());
  d.answer('a', new AvailabilityResponse({ jobId: ns1.id, available: false }));
  assert.equal(sent.at(-1), `avail c ${ns1.id}`, 'declined: the next worker of the same namespace');
});

test('dispatcher: restarts — worker gone with its agent still in the room waits for the agent to leave', () => {
  const { d, sent } = setup([{ id: 'a' }, { id: 'b' }]);
  const jobId = start(d);
  d.answer('a', new AvailabilityResponse({ jobId, available: true }));
  agentJoins(d, jobId);
  sent.splice(0);
  d.removeWorker('a');
  assert.deepEqual(d.listJobs().map((j) => j.id), [jobId], 'not restarted while its agent is in the room');
  assert.deepEqual(sent, []);
  d.participantLeft(room(), agent(`agent-${jobId}`, DisconnectReason.SIGNAL_CLOSE));
  const [next] = d.listJobs();
  assert.ok(next && next.id !== jobId);
  assert.deepEqual(sent, [`avail b ${next.id}`]);
  assert.equal(d.counters.restarted, 1);
  const states = d.listDispatches('r1')[0]?.state?.jobs.map((j) => JobStatus[j.state?.status ?? 0]);
  assert.deepEqual(states, ['JS_FAILED', 'JS_PENDING']);
});

test('dispatcher: an agent leaving on purpose ends its job; dropping out fails and restarts it', () => {
  const table: { reason: DisconnectReason; restarted: boolean }[] = [
    { reason: DisconnectReason.CLIENT_INITIATED, restarted: false },
    { reason: DisconnectReason.PARTICIPANT_REMOVED, restarted: false },
    { reason: DisconnectReason.DUPLICATE_IDENTITY, restarted: false },
    { reason: DisconnectReason.SIGNAL_CLOSE, restarted: true },
    { reason: DisconnectReason.MEDIA_FAILURE, restarted: true },
    { reason: DisconnectReason.CONNECTION_TIMEOUT, restarted: true },
  ];
  for (const row of table) {
    const name = DisconnectReason[row.reason];
    const { d, sent } = setup([{ id: 'a' }]);
    const jobId = start(d);
    d.answer('a', new AvailabilityResponse({ jobId, available: true }));
    const identity = agentJoins(d, jobId);
    sent.splice(0);
    d.participantLeft(room(), agent(identity, row.reason));
    const next = d.listJobs()[0];
    assert.equal(sent[0], `term a ${jobId}`, `${name}: the worker is told`);
    assert.equal(next !== undefined, row.restarted, name);
    if (next) assert.deepEqual(sent.slice(1), [`avail a ${next.id}`], `${name}: offered again`);
    const old = d.listDispatches('r1')[0]?.state?.jobs[0];
    assert.equal(old?.state?.status, row.restarted ? JobStatus.JS_FAILED : JobStatus.JS_SUCCESS, name);
  }
});

test('dispatcher: JS_FAILED restarts (after its agent leaves); JRP_NEVER does not; a participant job is not restarted once its participant left', () => {
  {
    const { d, sent } = setup([{ id: 'a' }]);
    const jobId = start(d);
    d.answer('a', new AvailabilityResponse({ jobId, available: true }));
    d.updateJob('a', new UpdateJobStatus({ jobId, status: JobStatus.JS_FAILED, error: 'entrypoint threw' }));
    const next = d.listJobs()[0];
    assert.ok(next && next.id !== jobId, 'agent never joined: restarted at once');
    assert.equal(sent.at(-1), `avail a ${next.id}`);
    assert.equal(d.listDispatches('r1')[0]?.state?.jobs[0]?.state?.error, 'entrypoint threw');
  }
  {
    const { d } = setup([{ id: 'a' }]);
    d.roomStarted(room(), [new RoomAgentDispatch({ agentName: '', restartPolicy: JobRestartPolicy.JRP_NEVER })]);
    const jobId = d.listJobs()[0]!.id;
    d.answer('a', new AvailabilityResponse({ jobId, available: true }));
    d.removeWorker('a');
    assert.deepEqual(d.listJobs(), [], 'JRP_NEVER: failed and gone');
  }
  {
    const { d } = setup([{ id: 'p', jobType: JobType.JT_PARTICIPANT }, { id: 'p2', jobType: JobType.JT_PARTICIPANT }]);
    start(d);
    d.participantJoined(room(), person('alice'));
    const job = d.listJobs().find((j) => j.participantIdentity === 'alice')!;
    d.answer('p', new AvailabilityResponse({ jobId: job.id, available: true }));
    d.participantLeft(room(), person('alice', DisconnectReason.CLIENT_INITIATED));
    d.removeWorker('p');
    assert.equal(d.listJobs().filter((j) => j.type === JobType.JT_PARTICIPANT).length, 0, 'alice is gone: nothing to restart for');
  }
});

test(`dispatcher: at most ${MAX_RESTARTS} restarts in the window, then the job stays failed; the window slides`, () => {
  const { d, clock } = setup([]);
  start(d);
  let n = 0;
  const failOnce = (): void => {
    const id = `w${n++}`;
    addWorker(d, { id });
    const job = d.listJobs()[0]!;
    d.answer(id, new AvailabilityResponse({ jobId: job.id, available: true }));
    d.removeWorker(id);
  };
  for (let k = 0; k < MAX_RESTARTS - 1; k++) failOnce();
  clock.advance(RESTART_WINDOW_MS);
  for (let k = 0; k < MAX_RESTARTS; k++) failOnce();
  assert.equal(d.counters.restarted, 2 * MAX_RESTARTS - 1, 'the early restarts slid out of the window');
  assert.equal(d.listJobs().length, 1);
  failOnce();
  assert.equal(d.listJobs().length, 0, 'given up');
  assert.equal(d.counters.restarted, 2 * MAX_RESTARTS - 1);
  assert.equal(d.listDispatches('r1')[0]?.state?.jobs.length, 2 * MAX_RESTARTS);
  d.createDispatch(room(), { agentName: '', metadata: '' });
  failOnce();
  assert.equal(d.listJobs().length, 1, 'another dispatch has its own budget');
});

test('dispatcher: a deleted dispatch or a finished room restarts nothing', () => {
  const { d, sent } = setup([{ id: 'a' }]);
  const jobId = start(d);
  d.answer('a', new AvailabilityResponse({ jobId, available: true }));
  agentJoins(d, jobId);
  d.removeWorker('a');
  const dispatchId = d.listDispatches('r1')[0]!.id;
  d.deleteDispatch('r1', dispatchId);
  d.participantLeft(room(), agent(`agent-${jobId}`, DisconnectReason.SIGNAL_CLOSE));
  assert.deepEqual(d.listJobs(), []);
  addWorker(d, { id: 'b' });
  assert.ok(!sent.some((s) => s.startsWith('avail b')));
  d.roomFinished('r1');
  d.participantLeft(room(), agent('late', DisconnectReason.SIGNAL_CLOSE));
  assert.deepEqual(d.listJobs(), []);
});

test('dispatcher: agents.enable_user_data_recording / _redaction are set on every job', () => {
  const d = new Dispatcher({
    clock: new ManualClock(),
    logger: silentLogger,
    enableRecording: true,
    enableRedaction: true,
    sink: { sendAvailability: () => {}, sendAssignment: () => {}, sendTermination: () => {} },
  });
  d.roomStarted(room());
  const job = d.listDispatches('r1')[0]?.state?.jobs[0];
  assert.equal(job?.enableRecording, true);
  assert.equal(job?.enableRedaction, true);
  const { d: plain } = setup([]);
  plain.roomStarted(room());
  assert.equal(plain.listDispatches('r1')[0]?.state?.jobs[0]?.enableRecording, false);
});
