// Dispatcher choices on a manual clock: workers x load x status -> chosen worker; decline, timeout and disconnect
// move the job on; no worker -> pending until one registers; room end -> termination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvailabilityResponse, JobStatus, JobType, ParticipantPermission, Room as RoomInfo, UpdateJobStatus, WorkerStatus } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { Dispatcher, AVAILABILITY_TIMEOUT_MS } from './dispatcher.js';

interface W {
  id: string;
  agentName?: string;
  jobType?: JobType;
  status?: WorkerStatus;
  load?: number;
}

function setup(workers: W[]) {
  const clock = new ManualClock();
  const sent: string[] = [];
  const d = new Dispatcher({
    clock,
    logger: silentLogger,
    sink: {
      sendAvailability: (w, job) => sent.push(`avail ${w} ${job.id}`),
      sendAssignment: (w, job, res) => sent.push(`assign ${w} ${job.id} ${res.participantIdentity}`),
      sendTermination: (w, jobId) => sent.push(`term ${w} ${jobId}`),
    },
  });
  for (const w of workers) {
    d.addWorker({ id: w.id, agentName: w.agentName ?? '', namespace: '', jobType: w.jobType ?? JobType.JT_ROOM, version: '1', permissions: new ParticipantPermission() });
    if (w.status !== undefined || w.load !== undefined) d.updateWorker(w.id, { status: w.status, load: w.load ?? 0 });
  }
  return { clock, sent, d };
}

const room = (name = 'r1') => new RoomInfo({ name, sid: `RM_${name}` });

test('dispatcher: the least-loaded available worker without an agent name gets the room job', () => {
  const table: { name: string; workers: W[]; chosen: string | undefined }[] = [
    { name: 'one worker', workers: [{ id: 'a' }], chosen: 'a' },
    { name: 'lowest load', workers: [{ id: 'a', load: 0.5 }, { id: 'b', load: 0.1 }, { id: 'c', load: 0.3 }], chosen: 'b' },
    { name: 'tie: first registered', workers: [{ id: 'a', load: 0.2 }, { id: 'b', load: 0.2 }], chosen: 'a' },
    { name: 'full skipped', workers: [{ id: 'a', status: WorkerStatus.WS_FULL }, { id: 'b', load: 0.9 }], chosen: 'b' },
    { name: 'load 1 skipped', workers: [{ id: 'a', load: 1 }], chosen: undefined },
    { name: 'named agent skipped', workers: [{ id: 'a', agentName: 'x' }, { id: 'b', load: 0.7 }], chosen: 'b' },
    { name: 'publisher type skipped', workers: [{ id: 'a', jobType: JobType.JT_PUBLISHER }], chosen: undefined },
    { name: 'no workers', workers: [], chosen: undefined },
    { name: 'all full', workers: [{ id: 'a', status: WorkerStatus.WS_FULL }], chosen: undefined },
  ];
  for (const row of table) {
    const { d, sent } = setup(row.workers);
    const jobId = d.roomStarted(room());
    assert.deepEqual(sent, row.chosen ? [`avail ${row.chosen} ${jobId}`] : [], row.name);
    assert.equal(d.listJobs()[0]?.offeredTo, row.chosen, row.name);
  }
});

test('dispatcher: accept assigns; decline and timeout move on to the next worker; then none left -> pending', () => {
  const { d, sent, clock } = setup([{ id: 'a', load: 0.1 }, { id: 'b', load: 0.2 }, { id: 'c', load: 0.3 }]);
  const jobId = d.roomStarted(room());
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
  const jobId = d.roomStarted(room());
  d.answer('a', new AvailabilityResponse({ jobId, available: false }));
  assert.deepEqual(sent.splice(0), [`avail a ${jobId}`]);
  assert.equal(d.listJobs()[0]?.status, JobStatus.JS_PENDING);
  d.addWorker({ id: 'b', agentName: '', namespace: '', jobType: JobType.JT_ROOM, version: '1', permissions: new ParticipantPermission() });
  assert.deepEqual(sent.splice(0), [`avail b ${jobId}`]);
});

test('dispatcher: no worker -> pending until one registers or becomes available', () => {
  const { d, sent } = setup([{ id: 'full', status: WorkerStatus.WS_FULL }]);
  const jobId = d.roomStarted(room());
  assert.deepEqual(sent.splice(0), []);
  d.updateWorker('full', { status: WorkerStatus.WS_AVAILABLE, load: 0.5 });
  assert.deepEqual(sent.splice(0), [`avail full ${jobId}`]);
});

test('dispatcher: the offered worker disconnecting moves the offer on; the running worker disconnecting fails the job', () => {
  const { d, sent } = setup([{ id: 'a' }, { id: 'b', load: 0.5 }]);
  const jobId = d.roomStarted(room());
  d.removeWorker('a');
  assert.deepEqual(sent.splice(0), [`avail a ${jobId}`, `avail b ${jobId}`]);
  d.answer('b', new AvailabilityResponse({ jobId, available: true }));
  assert.deepEqual(sent.splice(0), [`assign b ${jobId} `]);
  d.removeWorker('b');
  assert.equal(d.listJobs().length, 0);
  d.roomFinished('r1');
  assert.deepEqual(sent.splice(0), [], 'no termination to a gone worker');
});

test('dispatcher: job updates end the job; a room ending before assignment just drops it', () => {
  const { d, sent } = setup([{ id: 'a' }]);
  const j1 = d.roomStarted(room('r1'));
  d.answer('a', new AvailabilityResponse({ jobId: j1, available: true }));
  d.updateJob('a', new UpdateJobStatus({ jobId: j1, status: JobStatus.JS_RUNNING }));
  assert.equal(d.listJobs()[0]?.status, JobStatus.JS_RUNNING);
  d.updateJob('other', new UpdateJobStatus({ jobId: j1, status: JobStatus.JS_FAILED })); // not its job: ignored
  assert.equal(d.listJobs().length, 1);
  d.updateJob('a', new UpdateJobStatus({ jobId: j1, status: JobStatus.JS_FAILED, error: 'boom' }));
  assert.equal(d.listJobs().length, 0);
  const j2 = d.roomStarted(room('r2'));
  d.roomFinished('r2');
  assert.deepEqual(sent.splice(0), [`avail a ${j1}`, `assign a ${j1} `, `avail a ${j2}`]);
  assert.equal(d.listJobs().length, 0);
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
    { name: 'least-loaded named', workers: [{ id: 'a', agentName: 'greeter', load: 0.4 }, { id: 'b', agentName: 'greeter', load: 0.2 }], chosen: 'b' },
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
  const auto = d.roomStarted(room());
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
