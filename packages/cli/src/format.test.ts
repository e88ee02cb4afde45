// Unit tests for output formatting: aligned tables, JSON with int64 as strings, room and participant views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AgentDispatch, AgentDispatchState, EgressInfo, EgressStatus, FileInfo, IngressInfo, IngressInput, IngressState, IngressState_Status, Job, JobState, JobStatus,
  ParticipantInfo, TrackCompositeEgressRequest, ParticipantInfo_State, ParticipantPermission, Room, TrackInfo, TrackSource,
  TrackType,
} from '@livekit/protocol';
import { formatDispatches, formatEgresses, formatEgressInfo, formatIngresses, formatIngressInfo, formatJobSummary, formatUnixNs, formatJson, formatParticipant, formatParticipants, formatRooms, formatTable, formatTrackSummary, formatUnixSec, messageJson } from './format.js';

test('formatTable pads columns, keeps cells on one line and trims trailing space', () => {
  assert.equal(formatTable(['A', 'LONGER'], [['x', '1'], ['yyyy', 'two\nlines'], ['z']]), 'A     LONGER\nx     1\nyyyy  two lines\nz\n');
});

test('formatJson writes bigint as a string; messageJson includes default values', () => {
  assert.equal(formatJson({ n: 5n }), '{\n  "n": "5"\n}\n');
  const json = messageJson(new Room({ name: 'r' })) as Record<string, unknown>;
  assert.equal(json['name'], 'r');
  assert.equal(json['numParticipants'], 0);
  assert.equal(json['creationTime'], '0');
});

test('formatUnixSec', () => {
  assert.equal(formatUnixSec(0n), '');
  assert.equal(formatUnixSec(1_700_000_000n), '2023-11-14T22:13:20Z');
});

test('formatRooms', () => {
  assert.equal(formatRooms([]), 'no rooms\n');
  const room = new Room({ sid: 'RM_a', name: 'demo', numParticipants: 2, numPublishers: 1, emptyTimeout: 300, creationTime: 1_700_000_000n, metadata: 'm' });
  assert.equal(
    formatRooms([room]),
    'SID   NAME  PARTICIPANTS  PUBLISHERS  EMPTY-TIMEOUT  MAX  CREATED               METADATA\n' +
      'RM_a  demo  2             1           300s                2023-11-14T22:13:20Z  m\n',
  );
});

const audio = new TrackInfo({ sid: 'TR_a', type: TrackType.AUDIO, source: TrackSource.MICROPHONE, name: 'mic', mimeType: 'audio/opus', muted: true });
const video = new TrackInfo({ sid: 'TR_v', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 640, height: 360 });

test('formatTrackSummary', () => {
  assert.equal(formatTrackSummary(audio), 'TR_a audio microphone audio/opus muted');
  assert.equal(formatTrackSummary(video), 'TR_v video camera 640x360');
});

test('formatParticipants and formatParticipant', () => {
  const p = new ParticipantInfo({
    sid: 'PA_x',
    identity: 'x',
    name: 'Ex',
    state: ParticipantInfo_State.ACTIVE,
    joinedAt: 1_700_000_000n,
    tracks: [audio, video],
    attributes: { role: 'host' },
    permission: new ParticipantPermission({ canPublish: true, canSubscribe: true, canPublishData: false }),
  });
  assert.equal(formatParticipants([]), 'no participants\n');
  assert.equal(
    formatParticipants([p]),
    'SID   IDENTITY  NAME  STATE   TRACKS                         JOINED                METADATA\n' +
      'PA_x  x         Ex    active  TR_a(audio,muted) TR_v(video)  2023-11-14T22:13:20Z\n',
  );
  const text = formatParticipant(p);
  assert.match(text, /^Identity: {2}x$/m);
  assert.match(text, /^State: {5}active$/m);
  assert.match(text, /^Attributes: role=host$/m);
  assert.match(text, /^Permissions: publish subscribe$/m);
  assert.match(text, /^ {2}TR_a audio microphone audio\/opus muted 'mic'$/m);
});

test('formatUnixNs: nanoseconds to the second, zero is empty', () => {
  assert.equal(formatUnixNs(0n), '');
  assert.equal(formatUnixNs(1_700_000_000_999_999_999n), '2023-11-14T22:13:20Z');
});

test('formatJobSummary: id, status without JS_, the worker and an error when there are', () => {
  assert.equal(formatJobSummary(new Job({ id: 'AJ_1' })), 'AJ_1 pending');
  assert.equal(formatJobSummary(new Job({ id: 'AJ_2', state: new JobState({ status: JobStatus.JS_RUNNING, workerId: 'AW_x' }) })), 'AJ_2 running AW_x');
  assert.equal(
    formatJobSummary(new Job({ id: 'AJ_3', state: new JobState({ status: JobStatus.JS_FAILED, workerId: 'AW_x', error: 'worker disconnected' }) })),
    'AJ_3 failed AW_x error: worker disconnected',
  );
});

test('formatDispatches: one row per dispatch with its jobs; none says so', () => {
  assert.equal(formatDispatches([]), 'no dispatches\n');
  const named = new AgentDispatch({
    id: 'AD_named',
    agentName: 'greeter',
    room: 'lobby',
    deployment: 'staging',
    metadata: '{"topic":"hi"}',
    state: new AgentDispatchState({
      createdAt: 1_700_000_000_000_000_000n,
      jobs: [new Job({ id: 'AJ_a', state: new JobState({ status: JobStatus.JS_RUNNING, workerId: 'AW_w' }) }), new Job({ id: 'AJ_b' })],
    }),
  });
  const automatic = new AgentDispatch({ id: 'AD_auto', room: 'lobby', state: new AgentDispatchState({ createdAt: 1_700_000_001_000_000_000n }) });
  assert.equal(
    formatDispatches([named, automatic]),
    'DISPATCH-ID  ROOM   AGENT-NAME  DEPLOYMENT  METADATA        CREATED               JOBS\n' +
      'AD_named     lobby  greeter     staging     {"topic":"hi"}  2023-11-14T22:13:20Z  AJ_a running AW_w, AJ_b pending\n' +
      'AD_auto      lobby                                          2023-11-14T22:13:21Z\n',
  );
});

test('egress and ingress views', () => {
  const egress = new EgressInfo({
    egressId: 'EG_a', status: EgressStatus.EGRESS_COMPLETE, roomName: 'r', startedAt: 1_700_000_000_000_000_000n,
    request: { case: 'trackComposite', value: new TrackCompositeEgressRequest({ roomName: 'r', audioTrackId: 'TR_a', videoTrackId: 'TR_v' }) },
    fileResults: [new FileInfo({ filename: 'r.webm', location: '/rec/r.webm' })],
  });
  assert.equal(formatEgresses([]), 'no egresses\n');
  assert.equal(
    formatEgresses([egress]),
    'EGRESS-ID  STATUS    TYPE             SOURCE       STARTED               OUTPUTS      ERROR\n' +
      'EG_a       complete  track_composite  r/TR_v,TR_a  2023-11-14T22:13:20Z  /rec/r.webm\n',
  );
  assert.equal(formatEgressInfo(egress), 'EgressID: EG_a\nStatus:   complete\nType:     track_composite\nSource:   r/TR_v,TR_a\nOutput:   /rec/r.webm\n');
  const ingress = new IngressInfo({
    ingressId: 'IN_a', inputType: IngressInput.RTMP_INPUT, name: 'obs', roomName: 'r', participantIdentity: 'obs', url: 'rtmp://h/x', streamKey: 'k',
    state: new IngressState({ status: IngressState_Status.ENDPOINT_PUBLISHING }),
  });
  assert.equal(formatIngresses([]), 'no ingresses\n');
  assert.match(formatIngresses([ingress]), /^INGRESS-ID +INPUT +NAME +ROOM +IDENTITY +STATUS +URL +STREAM-KEY +ERROR\nIN_a +rtmp +obs +r +obs +publishing +rtmp:\/\/h\/x +k\n$/);
  assert.match(formatIngressInfo(ingress), /URL: +rtmp:\/\/h\/x\nStream key: k\n$/);
});
