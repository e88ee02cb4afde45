import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirectFileOutput, EgressStatus, GCPUpload, ImageOutput, SegmentedFileOutput, StreamInfo, StreamInfo_Status, StreamOutput, EncodedFileOutput, EncodedFileType, ParticipantEgressRequest, Room as RoomInfo, S3Upload, TrackCompositeEgressRequest, TrackEgressRequest, TrackInfo, TrackSource, TrackType, WebhookConfig } from '@livekit/protocol';
import type { WebhookEvent } from '@livekit/protocol';
import { ManualClock } from '@atrium/webrtc';
import type { Logger } from '@atrium/webrtc';
import { EgressManager } from './egress-manager.js';
import type { RecorderCallbacks, EgressJob } from './egress-manager.js';
import { EgressError } from './egress-error.js';
import { H264_720P_30 } from './egress-outputs.js';
import { errorOf } from './egress-testing.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function setup(opts: { maxActive?: number } = {}) {
  const clock = new ManualClock();
  const room = new RoomInfo({ name: 'demo', sid: 'RM_demo' });
  const tracks = new Map<string, TrackInfo>([
    ['TR_mic', new TrackInfo({ sid: 'TR_mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE, mimeType: 'audio/opus' })],
    ['TR_cam', new TrackInfo({ sid: 'TR_cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, mimeType: 'video/VP8' })],
    ['TR_av1', new TrackInfo({ sid: 'TR_av1', type: TrackType.VIDEO, source: TrackSource.CAMERA, mimeType: 'video/AV1' })],
  ]);
  const jobs: { job: EgressJob; cb: RecorderCallbacks; stops: number }[] = [];
  const events: WebhookEvent[] = [];
  const manager = new EgressManager({
    findRoom: (name) => (name === 'demo' ? room : undefined),
    findTrack: (name, sid) => (name === 'demo' && tracks.has(sid) ? { room, publisherIdentity: 'alice', track: tracks.get(sid)! } : undefined),
    findParticipantTracks: (name, identity) =>
      name === 'demo' && identity === 'alice' ? [...tracks.values()].filter((t) => t.sid !== 'TR_av1').map((track) => ({ room, publisherIdentity: 'alice', track })) : undefined,
    startRecorder: (job, cb) => {
      const j = { job, cb, stops: 0 };
      jobs.push(j);
      return { stop: () => void j.stops++ };
    },
    fileBaseDir: '/rec',
    clock,
    logger: silent,
    notify: (e) => events.push(e),
    ...opts,
  });
  return { clock, room, manager, jobs, events };
}

const fileReq = (trackId: string, filepath = '{room_name}/{track_id}') =>
  new TrackEgressRequest({ roomName: 'demo', trackId, output: { case: 'file', value: new DirectFileOutput({ filepath }) } });

test('STARTING -> ACTIVE -> ENDING -> COMPLETE with times, file result and webhooks in order', () => {
  const { clock, manager, jobs, events } = setup();
  const t0 = clock.wallMs();
  const info = manager.startTrackEgress(fileReq('TR_mic'));
  assert.match(info.egressId, /^EG_[0-9A-Za-z]{12}$/);
  assert.equal(info.status, EgressStatus.EGRESS_STARTING);
  assert.equal(info.roomId, 'RM_demo');
  assert.equal(info.request.case, 'track');
  const j = jobs[0]!;
  assert.equal(j.job.localPath, '/rec/demo/TR_mic.ogg');
  // a second egress onto the same file is refused while the first writes it
  assert.throws(() => manager.startTrackEgress(fileReq('TR_mic')), (e: EgressError) => e.code === 'already_exists' && e.message === `egress ${info.egressId} is writing demo/TR_mic.ogg`);
  assert.equal(j.job.container.muxer, 'ogg');
  clock.advance(300);
  j.cb.active();
  clock.advance(5_000);
  const stopping = manager.stopEgress(info.egressId);
  assert.equal(stopping.status, EgressStatus.EGRESS_ENDING);
  assert.equal(j.stops, 1);
  clock.advance(200);
  j.cb.ended({ sizeBytes: 12_345, durationMs: 5_000 });
  const [done] = manager.listEgress({ egressId: info.egressId });
  assert.equal(done?.status, EgressStatus.EGRESS_COMPLETE);
  assert.equal(done?.startedAt, BigInt(t0 + 300) * 1_000_000n);
  assert.equal(done?.endedAt, BigInt(t0 + 5_500) * 1_000_000n);
  assert.equal(done?.error, '');
  const file = done?.fileResults[0];
  assert.equal(file?.filename, 'demo/TR_mic.ogg');
  assert.equal(file?.location, '/rec/demo/TR_mic.ogg');
  assert.equal(file?.size, 12_345n);
  assert.equal(file?.duration, 5_000_000_000n);
  assert.deepEqual(
    events.map((e) => [e.event, e.egressInfo?.status]),
    [
      ['egress_started', EgressStatus.EGRESS_STARTING],
      ['egress_updated', EgressStatus.EGRESS_ACTIVE],
      ['egress_updated', EgressStatus.EGRESS_ENDING],
      ['egress_ended', EgressStatus.EGRESS_COMPLETE],
    ],
  );
  // a second `ended` or `active` changes nothing; stopping an ended egress is refused
  j.cb.ended({ error: 'late', sizeBytes: 0, durationMs: 0 });
  j.cb.active();
  assert.equal(manager.listEgress({ egressId: info.egressId })[0]?.status, EgressStatus.EGRESS_COMPLETE);
  assert.throws(() => manager.stopEgress(info.egressId), (e: EgressError) => e.code === 'failed_precondition');
  assert.equal(events.length, 4);
});

test('a recorder failing mid-egress: FAILED with its reason; before any media: ABORTED', () => {
  const { manager, jobs, events } = setup();
  const a = manager.startTrackEgress(fileReq('TR_cam'));
  assert.equal(jobs[0]!.job.container.muxer, 'webm');
  jobs[0]!.cb.active();
  jobs[0]!.cb.ended({ error: 'ffmpeg exited (signal SIGKILL)', sizeBytes: 100, durationMs: 1_000 });
  const failed = manager.listEgress({ egressId: a.egressId })[0]!;
  assert.equal(failed.status, EgressStatus.EGRESS_FAILED);
  assert.equal(failed.error, 'ffmpeg exited (signal SIGKILL)');
  assert.equal(failed.fileResults[0]?.size, 100n);
  const b = manager.startTrackEgress(fileReq('TR_mic'));
  manager.stopEgress(b.egressId);
  jobs[1]!.cb.ended({ sizeBytes: 0, durationMs: 0 });
  const aborted = manager.listEgress({ egressId: b.egressId })[0]!;
  assert.equal(aborted.status, EgressStatus.EGRESS_ABORTED);
  assert.match(aborted.error, /stopped by StopEgress/);
  assert.deepEqual(events.filter((e) => e.event === 'egress_ended').map((e) => e.egressInfo?.status), [EgressStatus.EGRESS_FAILED, EgressStatus.EGRESS_ABORTED]);
});

test('egresses end with their room and with their track', () => {
  const { room, manager, jobs } = setup();
  const mic = manager.startTrackEgress(fileReq('TR_mic', ''));
  const cam = manager.startTrackEgress(fileReq('TR_cam', ''));
  for (const j of jobs) j.cb.active();
  const ev = manager.roomEvents();
  ev.trackUnpublished?.(room, undefined as never, new TrackInfo({ sid: 'TR_cam' }));
  assert.equal(jobs[1]!.stops, 1);
  assert.equal(jobs[0]!.stops, 0);
  assert.equal(manager.listEgress({ egressId: cam.egressId })[0]?.details, 'the track was unpublished');
  ev.roomFinished?.(room);
  assert.equal(jobs[0]!.stops, 1);
  assert.deepEqual(manager.listEgress({ activeOnly: true }).map((i) => i.egressId).sort(), [mic.egressId, cam.egressId].sort());
  for (const j of jobs) j.cb.ended({ sizeBytes: 10, durationMs: 10 });
  assert.deepEqual(manager.listEgress({ activeOnly: true }), []);
  assert.equal(manager.listEgress({ roomName: 'demo' }).length, 2);
  assert.equal(manager.listEgress({ roomName: 'other' }).length, 0);
  assert.match(jobs[0]!.job.localPath, /^\/rec\/TR_mic-\d{4}-\d\d-\d\dT\d{6}\.ogg$/);
});

test('bad requests get coded errors and start nothing', () => {
  const { manager, jobs, events } = setup({ maxActive: 1 });
  const code = (fn: () => unknown): string => {
    const e = errorOf(fn);
    assert.ok(e === 'no error' || !e.startsWith('Error:'), e);
    return e;
  };
  assert.match(code(() => manager.startTrackEgress(new TrackEgressRequest({ trackId: 'TR_mic' }))), /^invalid_argument: room_name/);
  assert.match(code(() => manager.startTrackEgress(new TrackEgressRequest({ roomName: 'demo' }))), /^invalid_argument: track_id/);
  assert.match(code(() => manager.startTrackEgress(new TrackEgressRequest({ roomName: 'demo', trackId: 'TR_mic' }))), /^invalid_argument: an output/);
  assert.match(code(() => manager.startTrackEgress(fileReq('TR_nope'))), /^not_found: track TR_nope/);
  assert.match(code(() => manager.startTrackEgress(new TrackEgressRequest({ ...fileReq('x'), roomName: 'gone' }))), /^not_found: room gone/);
  assert.match(code(() => manager.startTrackEgress(fileReq('TR_av1'))), /^unimplemented: .*video\/AV1/);
  assert.match(code(() => manager.startTrackEgress(new TrackEgressRequest({ roomName: 'demo', trackId: 'TR_cam', output: { case: 'websocketUrl', value: 'ws://x' } }))), /^invalid_argument: a websocket_url takes an audio track/);
  assert.match(code(() => manager.startTrackEgress(new TrackEgressRequest({ roomName: 'demo', trackId: 'TR_mic', output: { case: 'websocketUrl', value: 'http://x' } }))), /^invalid_argument: websocket_url must be a ws/);
  const s3 = new TrackEgressRequest({ roomName: 'demo', trackId: 'TR_mic', output: { case: 'file', value: new DirectFileOutput({ filepath: 'x', output: { case: 's3', value: new S3Upload({ region: 'x' }) } }) } });
  assert.match(code(() => manager.startTrackEgress(s3)), /^invalid_argument: s3 upload needs a bucket/);
  const gcp = new TrackEgressRequest({ roomName: 'demo', trackId: 'TR_mic', output: { case: 'file', value: new DirectFileOutput({ filepath: 'x', output: { case: 'gcp', value: new GCPUpload({ bucket: 'b' }) } }) } });
  assert.match(code(() => manager.startTrackEgress(gcp)), /^unimplemented: upload to gcp is not supported \(s3 is/);
  const hooks = new TrackEgressRequest({ ...fileReq('TR_mic'), webhooks: [new WebhookConfig({ url: 'http://x' })] });
  assert.match(code(() => manager.startTrackEgress(hooks)), /^unimplemented: per-request webhooks/);
  assert.match(code(() => manager.stopEgress('')), /^invalid_argument/);
  assert.match(code(() => manager.stopEgress('EG_nope')), /^not_found/);
  assert.equal(jobs.length, 0);
  assert.equal(events.length, 0);
  manager.startTrackEgress(fileReq('TR_mic'));
  assert.match(code(() => manager.startTrackEgress(fileReq('TR_cam'))), /^resource_exhausted/);
});

test('a recorder that throws at start ends the egress ABORTED, not the caller', () => {
  const clock = new ManualClock();
  const room = new RoomInfo({ name: 'demo', sid: 'RM_demo' });
  const track = new TrackInfo({ sid: 'TR_mic', type: TrackType.AUDIO, mimeType: 'audio/opus' });
  const manager = new EgressManager({
    findRoom: () => room, findTrack: () => ({ room, publisherIdentity: 'a', track }), findParticipantTracks: () => undefined,
    startRecorder: () => { throw new Error('spawn ffmpeg ENOENT'); },
    fileBaseDir: '/rec', clock, logger: silent,
  });
  const info = manager.startTrackEgress(fileReq('TR_mic'));
  const after = manager.listEgress({ egressId: info.egressId })[0]!;
  assert.equal(after.status, EgressStatus.EGRESS_ABORTED);
  assert.match(after.error, /spawn ffmpeg ENOENT/);
});

test('track composite: audio + video into one file, no transcoding; ends with either track', () => {
  const { room, manager, jobs } = setup();
  const req = (fields: Partial<TrackCompositeEgressRequest>) => new TrackCompositeEgressRequest({ roomName: 'demo', ...fields });
  const file = (filepath: string, fileType = EncodedFileType.DEFAULT_FILETYPE) => [new EncodedFileOutput({ filepath, fileType })];
  const info = manager.startTrackCompositeEgress(req({ audioTrackId: 'TR_mic', videoTrackId: 'TR_cam', fileOutputs: file('') }));
  assert.equal(info.request.case, 'trackComposite');
  const job = jobs[0]!.job;
  assert.deepEqual(job.tracks.map((t) => [t.trackSid, t.kind, t.format.encodingName]), [['TR_cam', 'video', 'VP8'], ['TR_mic', 'audio', 'opus']]);
  assert.equal(job.container.muxer, 'webm');
  assert.match(job.localPath, /^\/rec\/demo-\d{4}-\d\d-\d\dT\d{6}\.webm$/);
  jobs[0]!.cb.active();
  manager.roomEvents().trackUnpublished?.(room, undefined as never, new TrackInfo({ sid: 'TR_mic' }));
  assert.equal(jobs[0]!.stops, 1);
  const code = errorOf;
  assert.match(code(() => manager.startTrackCompositeEgress(req({ audioTrackId: 'TR_cam', fileOutputs: file('x') }))), /^invalid_argument: track TR_cam is not an audio track/);
  assert.match(code(() => manager.startTrackCompositeEgress(req({ videoTrackId: 'TR_cam', audioTrackId: 'TR_mic', fileOutputs: file('x', EncodedFileType.OGG) }))), /^unimplemented: OGG cannot hold video/);
  assert.match(code(() => manager.startTrackCompositeEgress(req({ videoTrackId: 'TR_av1', fileOutputs: file('x') }))), /^unimplemented: egress of video\/AV1/);
  assert.match(code(() => manager.startTrackCompositeEgress(req({ videoTrackId: 'TR_cam', fileOutputs: [...file('a'), ...file('b')] }))), /^invalid_argument: one file output at most/);
  const audioOnly = manager.startTrackCompositeEgress(req({ audioTrackId: 'TR_mic', output: { case: 'file', value: new EncodedFileOutput({ filepath: '{room_name}/a' }) } }));
  assert.ok(audioOnly.egressId);
  assert.equal(jobs[1]!.job.container.muxer, 'ogg');
  assert.equal(jobs[1]!.job.localPath, '/rec/demo/a.ogg');
});

test('participant egress: the camera and microphone published now, as a composite; refusals', () => {
  const { manager, jobs } = setup();
  const file = [new EncodedFileOutput({ filepath: '{publisher_identity}-{room_name}' })];
  const info = manager.startParticipantEgress(new ParticipantEgressRequest({ roomName: 'demo', identity: 'alice', fileOutputs: file }));
  assert.equal(info.request.case, 'participant');
  assert.deepEqual(jobs[0]!.job.tracks.map((t) => t.trackSid), ['TR_cam', 'TR_mic']);
  assert.equal(jobs[0]!.job.localPath, '/rec/alice-demo.webm');
  const code = errorOf;
  assert.match(code(() => manager.startParticipantEgress(new ParticipantEgressRequest({ roomName: 'demo', identity: 'bob', fileOutputs: file }))), /^not_found: participant bob/);
  assert.match(code(() => manager.startParticipantEgress(new ParticipantEgressRequest({ roomName: 'demo', identity: 'alice', screenShare: true, fileOutputs: file }))), /^failed_precondition: participant alice publishes no screen share track yet/);
  assert.match(code(() => manager.startParticipantEgress(new ParticipantEgressRequest({ roomName: 'demo', identity: 'alice' }))), /^invalid_argument: an output is required/);
});

test('outputs: HLS + RTMP + images transcode, VP8 in MP4 transcodes, UpdateStream, results and an upload failure', () => {
  const { manager, jobs, events } = setup();
  const streamInfos: StreamInfo[] = [];
  const urls: string[] = [];
  const updates: [readonly string[], readonly string[]][] = [];
  const m2 = new EgressManager({
    ...(manager as unknown as { opts: ConstructorParameters<typeof EgressManager>[0] }).opts,
    startRecorder: (job, cb) => {
      jobs.push({ job, cb, stops: 0 });
      return {
        stop: () => {},
        updateStream: (add, remove) => {
          updates.push([add, remove]);
          for (const u of remove) urls.splice(urls.indexOf(u), 1);
          urls.push(...add);
        },
        activeStreamUrls: () => [...urls],
        streamResults: () => streamInfos,
      };
    },
  });
  const info = m2.startTrackCompositeEgress(new TrackCompositeEgressRequest({
    roomName: 'demo', audioTrackId: 'TR_mic', videoTrackId: 'TR_cam',
    segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'hls/{room_name}', livePlaylistName: 'live.m3u8' })],
    streamOutputs: [new StreamOutput({ urls: ['rtmp://127.0.0.1/live/key1'] })],
    imageOutputs: [new ImageOutput({ captureInterval: 2, width: 320, height: 180, filenamePrefix: 'img/{room_name}' })],
  }));
  urls.push('rtmp://127.0.0.1/live/key1');
  // EgressInfo.request shows no stream key (the recorder's plan has it)
  assert.ok(info.request.case === 'trackComposite');
  assert.deepEqual(info.request.value.streamOutputs[0]?.urls, ['rtmp://127.0.0.1/live/{...}']);
  const job = jobs.at(-1)!.job;
  assert.deepEqual(job.transcode, H264_720P_30);
  assert.equal(job.plan.segments?.playlistName, 'hls/demo.m3u8');
  assert.equal(job.plan.segments?.livePlaylistName, 'hls/live.m3u8');
  assert.equal(job.plan.segments?.segmentDurationSec, 4);
  assert.deepEqual(job.plan.stream?.urls, ['rtmp://127.0.0.1/live/key1']);
  assert.equal(job.plan.image?.prefix, 'img/demo');
  assert.equal(job.localPath, '/rec/hls/demo.m3u8');
  // UpdateStream: checked, then handed to the recorder; egress_updated
  const code = errorOf;
  assert.match(code(() => m2.updateStream(info.egressId, ['http://x/y'], [])), /^invalid_argument: .*only rtmp/);
  assert.match(code(() => m2.updateStream(info.egressId, [], ['rtmp://127.0.0.1/live/other'])), /^not_found/);
  assert.match(code(() => m2.updateStream(info.egressId, ['rtmp://127.0.0.1/live/key1'], [])), /^already_exists/);
  assert.match(code(() => m2.updateStream(info.egressId, [], [])), /^invalid_argument/);
  const before = events.length;
  m2.updateStream(info.egressId, ['rtmp://127.0.0.1/live/key2'], ['rtmp://127.0.0.1/live/key1']);
  assert.deepEqual(updates, [[['rtmp://127.0.0.1/live/key2'], ['rtmp://127.0.0.1/live/key1']]]);
  assert.equal(events.length, before + 1);
  // results from the recorder's outputs
  jobs.at(-1)!.cb.active();
  streamInfos.push(new StreamInfo({ url: 'rtmp://127.0.0.1/live/{k...1}', status: StreamInfo_Status.FINISHED }));
  jobs.at(-1)!.cb.ended({
    sizeBytes: 0, durationMs: 8000, streams: streamInfos,
    outputs: { segments: { segmentCount: 2, durationMs: 8000, sizeBytes: 1000, playlistLocation: '/rec/hls/demo.m3u8', livePlaylistLocation: '/rec/hls/live.m3u8' }, imageCount: 4 },
  });
  const done = m2.listEgress({ egressId: info.egressId })[0]!;
  assert.equal(done.status, EgressStatus.EGRESS_COMPLETE);
  assert.equal(done.segmentResults[0]?.segmentCount, 2n);
  assert.equal(done.segmentResults[0]?.playlistName, 'hls/demo.m3u8');
  assert.equal(done.segmentResults[0]?.duration, 8_000_000_000n);
  assert.equal(done.imageResults[0]?.imageCount, 4n);
  assert.equal(done.imageResults[0]?.filenamePrefix, 'img/demo');
  assert.equal(done.streamResults[0]?.status, StreamInfo_Status.FINISHED);
  assert.equal(done.fileResults.length, 0);
  assert.equal(done.result.case, 'segments');
  assert.match(code(() => m2.updateStream(info.egressId, ['rtmp://h/a/b'], [])), /^failed_precondition/);

  // VP8 into MP4 is transcoded (LiveKit's default H.264/AAC MP4); a failed upload fails the egress
  const mp4 = m2.startTrackCompositeEgress(new TrackCompositeEgressRequest({
    roomName: 'demo', audioTrackId: 'TR_mic', videoTrackId: 'TR_cam',
    fileOutputs: [new EncodedFileOutput({ filepath: 'x.webm', fileType: EncodedFileType.MP4, output: { case: 's3', value: new S3Upload({ bucket: 'b', endpoint: 'http://127.0.0.1:9', accessKey: 'AK', secret: 'SK' }) } })],
  }));
  const j2 = jobs.at(-1)!.job;
  assert.ok(mp4.request.case === 'trackComposite');
  const shownUpload = mp4.request.value.fileOutputs[0]?.output;
  assert.deepEqual(shownUpload?.case === 's3' ? [shownUpload.value.bucket, shownUpload.value.accessKey, shownUpload.value.secret] : [], ['b', '{redacted}', '{redacted}']);
  assert.equal(j2.plan.file?.upload?.secret, 'SK');
  assert.ok(j2.transcode);
  assert.equal(j2.plan.file?.filename, 'x.mp4');
  assert.equal(j2.plan.file?.upload?.bucket, 'b');
  jobs.at(-1)!.cb.active();
  jobs.at(-1)!.cb.ended({ sizeBytes: 10, durationMs: 1000, outputs: { file: { sizeBytes: 10, location: '/rec/x.mp4' }, error: 'upload of x.mp4: connect ECONNREFUSED' } });
  const failed = m2.listEgress({ egressId: mp4.egressId })[0]!;
  assert.equal(failed.status, EgressStatus.EGRESS_FAILED);
  assert.match(failed.error, /upload of x\.mp4/);
  assert.equal(failed.fileResults[0]?.location, '/rec/x.mp4');
  // a stream-less egress has no UpdateStream; bad outputs are refused
  assert.match(code(() => m2.updateStream(mp4.egressId, ['rtmp://h/a/b'], [])), /^failed_precondition/);
  const bad = (fields: Partial<TrackCompositeEgressRequest>) => code(() => m2.startTrackCompositeEgress(new TrackCompositeEgressRequest({ roomName: 'demo', videoTrackId: 'TR_cam', ...fields })));
  assert.match(bad({ streamOutputs: [new StreamOutput({ urls: [] })] }), /^invalid_argument: a stream output needs at least one url/);
  assert.match(bad({ streamOutputs: [new StreamOutput({ urls: ['srt://x:1'] })] }), /^invalid_argument: .*only rtmp/);
  assert.match(bad({ segmentOutputs: [new SegmentedFileOutput({ playlistName: 'a/p.m3u8', livePlaylistName: 'b/l.m3u8' })] }), /^invalid_argument: live_playlist_name must be in the same directory/);
  assert.match(bad({ imageOutputs: [new ImageOutput({ width: 33 })] }), /^invalid_argument: image width/);
  assert.match(bad({ fileOutputs: [new EncodedFileOutput({ fileType: EncodedFileType.OGG })], streamOutputs: [new StreamOutput({ urls: ['rtmp://h/a/b'] })] }), /^unimplemented: .*written as MP4 \(OGG asked\)/);
  assert.match(code(() => m2.startTrackCompositeEgress(new TrackCompositeEgressRequest({ roomName: 'demo', audioTrackId: 'TR_mic', imageOutputs: [new ImageOutput({})] }))), /^invalid_argument: an image output needs a video track/);
});

test('a websocket track egress: the audio track and the URL to the recorder, no file; two of them do not collide', () => {
  const { manager, jobs } = setup();
  const req = () => new TrackEgressRequest({ roomName: 'demo', trackId: 'TR_mic', output: { case: 'websocketUrl', value: 'wss://stt.example/in?track=TR_mic' } });
  const first = manager.startTrackEgress(req());
  const second = manager.startTrackEgress(req());
  assert.notEqual(first.egressId, second.egressId);
  const job = jobs[0]!.job;
  assert.equal(job.websocketUrl, 'wss://stt.example/in?track=TR_mic');
  assert.deepEqual(job.tracks.map((t) => [t.trackSid, t.kind, t.format.encodingName]), [['TR_mic', 'audio', 'opus']]);
  assert.equal(job.plan.file, undefined);
  jobs[0]!.cb.active();
  jobs[0]!.cb.ended({ sizeBytes: 192_000, durationMs: 1_000 });
  const [done] = manager.listEgress({ egressId: first.egressId });
  assert.equal(done?.status, EgressStatus.EGRESS_COMPLETE);
  assert.deepEqual(done?.fileResults, []);
});
