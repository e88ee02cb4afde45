// The `atrium` command as a child process (packages/cli/bin/atrium.js) against an in-process Atrium: tokens checked
// by livekit-server-sdk's TokenVerifier and accepted by @livekit/rtc-node, rooms, participants and data as an rtc-node
// participant sees them, clear errors with exit codes, and `atrium server` itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomEvent, type Room } from '@livekit/rtc-node';
import { TokenVerifier } from 'livekit-server-sdk';
import { connectRtcNode, publishSineTone, readAudioWindow, readVideoFrames, teardownRtcNode, waitForRemoteTrack, type RunningPublisher } from './helpers/rtc-node.js';
import { dominantFrequency } from './helpers/tone.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/atrium.js', import.meta.url));
const CLI_DEADLINE_MS = 30_000;
const EVENT_TIMEOUT_MS = 10_000;

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];

const recordings = mkdtempSync(join(tmpdir(), 'atrium-cli-egress-'));

before(async () => {
  server = await withTimeout(startAtrium({ config: { egress: { fileBaseDir: recordings } } }), 15_000, 'Atrium to start');
});

after(() =>
  teardownRtcNode({ publishers, rooms, also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }] }),
);

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without the caller's LIVEKIT_* settings, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const key of Object.keys(base)) if (key.startsWith('LIVEKIT_')) delete base[key];
  return { ...base, ...env };
}

/** Starts `atrium ...args`; the child is killed at the deadline. */
function startCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const run: CliRun = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_DEADLINE_MS);
  const exited = new Promise<CliRun>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(Object.assign(run, { code }));
    }),
  );
  return { child, run, exited };
}

/** Runs `atrium ...args` to completion (asynchronously: the in-process server keeps serving meanwhile). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).exited;
}

/** Connection flags for the server under test. */
function conn(): string[] {
  assert.ok(server);
  return ['--url', server.url, '--api-key', DEV_API_KEY, '--api-secret', DEV_API_SECRET];
}

function ok(r: CliRun, what: string): CliRun {
  assert.equal(r.code, 0, `${what}: exit ${String(r.code)}\n${r.stderr}`);
  return r;
}

test('token create: a JWT that TokenVerifier accepts and that rtc-node joins Atrium with', { timeout: 60_000 }, async () => {
  assert.ok(server);
  const r = ok(
    await cli(['token', 'create', '--room', 'cli-token', '--identity', 'tok', '--name', 'Token User', '--metadata', 'meta', '--ttl', '1h'], {
      LIVEKIT_API_KEY: DEV_API_KEY,
      LIVEKIT_API_SECRET: DEV_API_SECRET,
    }),
    'token create',
  );
  const token = r.stdout.trim();
  const claims = await new TokenVerifier(DEV_API_KEY, DEV_API_SECRET).verify(token);
  assert.equal(claims.sub, 'tok');
  assert.equal(claims.name, 'Token User');
  assert.equal(claims.metadata, 'meta');
  assert.deepEqual(claims.video, { room: 'cli-token', roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });
  assert.equal((claims.exp ?? 0) - (claims.nbf as number), 3600);

  const json = ok(await cli(['token', 'create', ...conn(), '--room', 'cli-token', '--identity', 'tok2', '--no-subscribe', '--json']), 'token create --json');
  const out = JSON.parse(json.stdout) as { token: string; identity: string; room: string; url: string; grant: Record<string, unknown> };
  assert.equal(out.identity, 'tok2');
  assert.equal(out.url, server.url);
  assert.equal(out.grant['canSubscribe'], false);
  assert.equal((await new TokenVerifier(DEV_API_KEY, DEV_API_SECRET).verify(out.token)).sub, 'tok2');

  const room = await connectRtcNode(server.url, token, { label: 'tok' });
  rooms.push(room);
  assert.equal(room.localParticipant?.identity, 'tok');
  assert.equal(room.localParticipant?.name, 'Token User');
  await room.disconnect();
});

test('room create, list, update and delete', { timeout: 60_000 }, async () => {
  const name = `cli-room-${Date.now()}`;
  const created = ok(
    await cli(['room', 'create', ...conn(), '--name', name, '--empty-timeout', '5m', '--metadata', 'first', '--json']),
    'room create',
  );
  const room = JSON.parse(created.stdout) as { sid: string; name: string; emptyTimeout: number; metadata: string };
  assert.match(room.sid, /^RM_/);
  assert.equal(room.name, name);
  assert.equal(room.emptyTimeout, 300);
  assert.equal(room.metadata, 'first');

  // Table output, environment variables instead of flags.
  const env = { LIVEKIT_URL: server?.httpUrl ?? '', LIVEKIT_API_KEY: DEV_API_KEY, LIVEKIT_API_SECRET: DEV_API_SECRET };
  const table = ok(await cli(['room', 'list'], env), 'room list');
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^SID\s+NAME\s+PARTICIPANTS\s+PUBLISHERS\s+EMPTY-TIMEOUT\s+MAX\s+CREATED\s+METADATA$/);
  const row = lines.find((l) => l.includes(name));
  assert.ok(row, table.stdout);
  assert.match(row, new RegExp(`^${room.sid}\\s+${name}\\s+0\\s+0\\s+300s\\s+\\S+Z\\s+first$`));

  const listed = JSON.parse(ok(await cli(['room', 'list', ...conn(), name, '--json']), 'room list NAME').stdout) as { sid: string }[];
  assert.deepEqual(listed.map((r) => r.sid), [room.sid]);

  const updated = ok(await cli(['room', 'update', ...conn(), '--room', name, '--metadata', 'second', '--json']), 'room update');
  assert.equal((JSON.parse(updated.stdout) as { metadata: string }).metadata, 'second');

  const deleted = ok(await cli(['room', 'delete', ...conn(), name]), 'room delete');
  assert.equal(deleted.stdout, `deleted room ${name}\n`);
  const after = JSON.parse(ok(await cli(['room', 'list', ...conn(), '--json']), 'room list after delete').stdout) as { name: string }[];
  assert.ok(!after.some((r) => r.name === name), 'the room is gone');

  // Deleting it again: the Twirp error's code and message, exit code 1.
  const again = await cli(['room', 'delete', ...conn(), name]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'atrium room delete: not_found (HTTP 404): requested room does not exist\n');
});

test('participant list, get, mute and remove, and data send, as an rtc-node participant sees them', { timeout: 120_000 }, async () => {
  assert.ok(server);
  const roomName = `cli-participants-${Date.now()}`;
  const x = await connectRtcNode(server.url, await server.token({ identity: 'x', room: roomName, name: 'Ex' }), { label: 'x' });
  rooms.push(x);
  const y = await connectRtcNode(server.url, await server.token({ identity: 'y', room: roomName }), { label: 'y' });
  rooms.push(y);
  const tone = await publishSineTone(x, { frequencyHz: 440, maxDurationMs: 60_000 });
  publishers.push(tone);
  const trackSid = tone.publication.sid;
  assert.ok(trackSid);
  await waitFor(() => y.remoteParticipants.get('x')?.trackPublications.has(trackSid) === true, { timeoutMs: EVENT_TIMEOUT_MS, label: 'y sees x track' });

  const table = ok(await cli(['participant', 'list', ...conn(), '--room', roomName]), 'participant list');
  const xRow = table.stdout.split('\n').find((l) => /^PA_\S+\s+x\s/.test(l));
  assert.ok(xRow, table.stdout);
  assert.match(xRow, new RegExp(`^${x.localParticipant?.sid ?? '?'}\\s+x\\s+Ex\\s+active\\s+${trackSid}\\(audio\\)\\s`));
  const listed = JSON.parse(ok(await cli(['participant', 'list', ...conn(), roomName, '--json']), 'participant list --json').stdout) as { identity: string }[];
  assert.deepEqual(listed.map((p) => p.identity).sort(), ['x', 'y']);

  const got = ok(await cli(['participant', 'get', ...conn(), '--room', roomName, '--identity', 'x']), 'participant get');
  assert.match(got.stdout, new RegExp(`^ {2}${trackSid} audio microphone`, 'm'));

  // data send: to everyone, then only to y (x must not get it; a later broadcast to x proves ordering).
  const yData = nextData(y, 'news');
  const xData = nextData(x, 'news');
  const sent = ok(await cli(['data', 'send', ...conn(), '--room', roomName, '--data', 'hello from the cli', '--topic', 'news']), 'data send');
  assert.equal(sent.stdout, `sent 18 bytes (reliable, topic 'news') to everyone in room ${roomName}\n`);
  for (const data of await Promise.all([xData, yData])) assert.equal(data, 'hello from the cli');
  const seenByX: string[] = [];
  x.on(RoomEvent.DataReceived, (_d, _p, _k, topic) => void (topic !== undefined && seenByX.push(topic)));
  const yOnly = nextData(y, 'for-y');
  ok(await cli(['data', 'send', ...conn(), '--room', roomName, '--data', 'just y', '--topic', 'for-y', '--identity', 'y', '--lossy']), 'data send --identity');
  assert.equal(await yOnly, 'just y');
  const xLater = nextData(x, 'later');
  ok(await cli(['data', 'send', ...conn(), '-r', roomName, '-d', 'later', '--topic', 'later']), 'data send later');
  await xLater;
  assert.deepEqual(seenByX, ['later']);

  // mute: x's own publication is muted by the server; y sees TrackMuted; remote unmute is refused.
  const yMuted = new Promise<void>((resolve) =>
    y.on(RoomEvent.TrackMuted, (pub, p) => {
      if (p.identity === 'x' && pub.sid === trackSid) resolve();
    }),
  );
  const muted = ok(await cli(['participant', 'mute', ...conn(), '--room', roomName, '--identity', 'x', '--track', trackSid]), 'participant mute');
  assert.match(muted.stdout, new RegExp(`^muted ${trackSid} audio microphone .*muted\\n$`));
  await withTimeout(yMuted, EVENT_TIMEOUT_MS, 'y sees the mute');
  await waitFor(() => tone.publication.muted, { timeoutMs: EVENT_TIMEOUT_MS, label: "x's publication muted by the server" });
  const unmute = await cli(['participant', 'mute', ...conn(), '--room', roomName, '--identity', 'x', '--track', trackSid, '--unmute']);
  assert.equal(unmute.code, 1);
  assert.match(unmute.stderr, /^atrium participant mute: failed_precondition \(HTTP 412\): /);

  // remove: y is disconnected and x sees it leave.
  const xSeesLeave = new Promise<void>((resolve) => x.on(RoomEvent.ParticipantDisconnected, (p) => p.identity === 'y' && resolve()));
  const removed = ok(await cli(['participant', 'remove', ...conn(), '--room', roomName, 'y']), 'participant remove');
  assert.equal(removed.stdout, `removed y from room ${roomName}\n`);
  await withTimeout(xSeesLeave, EVENT_TIMEOUT_MS, 'x sees y removed');
  const remaining = JSON.parse(ok(await cli(['participant', 'list', ...conn(), roomName, '--json']), 'participant list after remove').stdout) as { identity: string }[];
  assert.deepEqual(remaining.map((p) => p.identity), ['x']);
});

test('egress start (a request file), list, stop; ingress create, list, update, delete', { timeout: 120_000 }, async () => {
  assert.ok(server);
  const roomName = `cli-egress-${Date.now()}`;
  const x = await connectRtcNode(server.url, await server.token({ identity: 'x', room: roomName }), { label: 'x' });
  rooms.push(x);
  const tone = await publishSineTone(x, { frequencyHz: 440, maxDurationMs: 60_000 });
  publishers.push(tone);
  const trackSid = tone.publication.sid;
  assert.ok(trackSid);

  // lk's shape: `egress start --type track request.json`, the request in LiveKit's JSON with proto field names
  const request = join(recordings, 'track-request.json');
  writeFileSync(request, JSON.stringify({ room_name: roomName, track_id: trackSid, file: { filepath: 'cli/{track_id}.ogg' } }));
  const started = ok(await cli(['egress', 'start', ...conn(), '--type', 'track', request]), 'egress start');
  const egressId = /^EgressID: (EG_\w+)$/m.exec(started.stdout)?.[1];
  assert.ok(egressId, started.stdout);
  assert.match(started.stdout, new RegExp(`^Type: +track\nSource: +${roomName}/${trackSid}$`, 'm'));
  await waitFor(async () => (await cli(['egress', 'list', ...conn(), '--id', egressId])).stdout.includes(' active '), { timeoutMs: 15_000, label: 'egress active' });
  const listed = JSON.parse(ok(await cli(['egress', 'list', ...conn(), '--room', roomName, '--active', '--json']), 'egress list --json').stdout) as { egressId: string }[];
  assert.deepEqual(listed.map((e) => e.egressId), [egressId]);
  await new Promise((r) => setTimeout(r, 1_500));
  const stopped = ok(await cli(['egress', 'stop', ...conn(), '--id', egressId]), 'egress stop');
  assert.match(stopped.stdout, /^Status: +ending$/m);
  let row = '';
  await waitFor(async () => {
    row = (await cli(['egress', 'list', ...conn(), '--id', egressId])).stdout;
    return / complete /.test(row);
  }, { timeoutMs: 15_000, label: 'egress complete' });
  const file = join(recordings, 'cli', `${trackSid}.ogg`);
  assert.ok(row.includes(file), row);
  assert.ok(statSync(file).size > 1_000, 'the recording has content');
  const again = await cli(['egress', 'stop', ...conn(), egressId]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^atrium egress stop: failed_precondition \(HTTP 412\): egress EG_\w+ has already ended\n$/);
  const badType = await cli(['egress', 'start', ...conn(), '--type', 'tape', request]);
  assert.equal(badType.code, 2);
  assert.match(badType.stderr, /unknown --type 'tape'/);

  // ingress: a WHIP endpoint made from flags, found by list, renamed, deleted
  const created = ok(await cli(['ingress', 'create', ...conn(), '--input', 'whip', '--room', roomName, '--identity', 'cam', '--name', 'Camera']), 'ingress create');
  const ingressId = /^IngressID: +(IN_\w+)$/m.exec(created.stdout)?.[1];
  assert.ok(ingressId, created.stdout);
  assert.match(created.stdout, /^Input: +whip$/m);
  assert.match(created.stdout, /^URL: +http:\/\/\S+\/w$/m);
  assert.match(created.stdout, /^Stream key: +\S+$/m);
  const table = ok(await cli(['ingress', 'list', ...conn(), '--room', roomName]), 'ingress list').stdout;
  assert.match(table, new RegExp(`^${ingressId} +whip +Camera +${roomName} +cam +inactive `, 'm'));
  ok(await cli(['ingress', 'update', ...conn(), ingressId, '--name', 'Front camera']), 'ingress update');
  const json = JSON.parse(ok(await cli(['ingress', 'list', ...conn(), '--id', ingressId, '--json']), 'ingress list --json').stdout) as { name: string }[];
  assert.deepEqual(json.map((i) => i.name), ['Front camera']);
  ok(await cli(['ingress', 'delete', ...conn(), '--id', ingressId]), 'ingress delete');
  assert.equal(ok(await cli(['ingress', 'list', ...conn(), '--room', roomName]), 'ingress list after delete').stdout, 'no ingresses\n');
});

/** The text of the next data message on `room` with `topic`. */
function nextData(room: Room, topic: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve) => {
      const listener = (data: Uint8Array, _p: unknown, _k: unknown, t: string | undefined): void => {
        if (t !== topic) return;
        room.off(RoomEvent.DataReceived, listener);
        resolve(new TextDecoder().decode(data));
      };
      room.on(RoomEvent.DataReceived, listener);
    }),
    EVENT_TIMEOUT_MS,
    `data on topic '${topic}'`,
  );
}

test('errors: wrong secret, unreachable server, missing credentials and unknown flags', { timeout: 60_000 }, async () => {
  assert.ok(server);
  const closed = await closedPortUrl();
  // Independent runs, started together to save wall time.
  const [wrong, unknownKey, unreachable, noKeys, badFlag, badServerFlag] = await Promise.all([
    cli(['room', 'list', '--url', server.url, '--api-key', DEV_API_KEY, '--api-secret', 'not-the-secret']),
    cli(['participant', 'list', '--url', server.url, '--api-key', 'nokey', '--api-secret', 'x', '--room', 'r']),
    cli(['room', 'create', '--url', closed, '--dev', '--name', 'nowhere']),
    cli(['room', 'list', '--url', server.url]),
    cli(['participant', 'list', ...conn(), '--room', 'r', '--verbose']),
    cli(['server', '--dev', '--prot', '7880']),
  ]);
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, 'atrium room list: the server rejected the API key/secret (401: invalid authorization token)\n');
  assert.equal(wrong.stdout, '');

  assert.equal(unknownKey.code, 1);
  assert.match(unknownKey.stderr, /the server rejected the API key\/secret \(401/);

  assert.equal(unreachable.code, 1);
  assert.equal(unreachable.stderr, `atrium room create: cannot reach Atrium at ${closed}: ECONNREFUSED\n`);

  assert.equal(noKeys.code, 2);
  assert.match(noKeys.stderr, /^atrium room list: missing API key \(--api-key or LIVEKIT_API_KEY\) and API secret/);

  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /^atrium participant list: unknown flag '--verbose'\nusage: atrium participant list --room NAME/);

  // `atrium server` hands its flags to the server, whose own parser refuses unknown ones with its usage.
  assert.equal(badServerFlag.code, 2);
  assert.match(badServerFlag.stderr, /Unknown option '--prot'/);
  assert.match(badServerFlag.stderr, /^usage: atrium-server \[--dev\]/m);
});

async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

test('atrium server --dev runs the server: the CLI lists its rooms, SIGTERM stops it', { timeout: 60_000 }, async () => {
  const { child, run, exited } = startCli(['server', '--dev', '--port', '0', '--udp-port', '0', '--bind', '127.0.0.1', '--log-level', 'warn']);
  try {
    const url = await waitFor(() => /listening at (ws:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1] ?? (run.code !== null ? 'exited' : undefined), {
      timeoutMs: CLI_DEADLINE_MS,
      label: 'atrium server to listen',
      describe: () => `${run.stdout}${run.stderr}`,
    });
    assert.notEqual(url, 'exited', `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /npx atrium token create --api-key devkey --api-secret secret --room test --identity me/);
    ok(await cli(['room', 'create', '--dev', '--url', url, 'served']), 'room create on atrium server');
    const listed = JSON.parse(ok(await cli(['room', 'list', '--dev', '--url', url, '--json']), 'room list on atrium server').stdout) as { name: string }[];
    assert.deepEqual(listed.map((r) => r.name), ['served']);
  } finally {
    child.kill('SIGTERM');
  }
  const r = await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SIGTERM: draining/);
  assert.match(r.stdout, /drained: exiting/);
});

test('publish: a media file joins the room as video and audio that an rtc-node participant decodes', { timeout: 120_000 }, async () => {
  assert.ok(server);
  const roomName = `cli-publish-${Date.now()}`;
  const media = join(recordings, 'clip.mp4');
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', media]);
  assert.equal(made.status, 0, made.stderr.toString());
  const viewer = await connectRtcNode(server.url, await server.token({ identity: 'viewer', room: roomName }), { label: 'viewer' });
  rooms.push(viewer);
  const run = startCli(['publish', ...conn(), media, '--room', roomName, '--identity', 'filebot']);
  try {
    const cam = await waitForRemoteTrack(viewer, { kind: 'video', identity: 'filebot', label: 'the published video', timeoutMs: 20_000 });
    const mic = await waitForRemoteTrack(viewer, { kind: 'audio', identity: 'filebot', label: 'the published audio', timeoutMs: 20_000 });
    const frames = await readVideoFrames(cam.track, { count: 20, timeoutMs: 15_000, accept: (s) => s.width === 320 && s.height === 240 });
    assert.ok(frames.length >= 20);
    const audio = await readAudioWindow(mic.track, { sampleRate: 48_000, windowSamples: 48_000, timeoutMs: 15_000 });
    const tone = dominantFrequency(audio.samples, { sampleRate: 48_000, minHz: 300, maxHz: 600 });
    assert.ok(Math.abs(tone.frequencyHz - 440) <= 3, `the file's 440 Hz tone is heard (found ${tone.frequencyHz} Hz)`);
  } finally {
    const done = await run.exited;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^publishing \S+clip\.mp4 in room cli-publish-\d+ as filebot: TR_\w+ video 320x240 VP8, TR_\w+ audio Opus$/m);
    assert.match(done.stdout, /^until its end, 6\.\d s \(Ctrl-C stops\)$/m, 'the file is 6 s long (ffprobe)');
    assert.match(done.stdout, /^done: \d+ video frames, \d+ audio packets sent$/m);
  }
  // the end of the file ends the participant
  await waitFor(() => !viewer.remoteParticipants.has('filebot'), { timeoutMs: EVENT_TIMEOUT_MS, label: 'filebot left' });
  const missing = await cli(['publish', ...conn(), join(recordings, 'no-such.mp4'), '--room', roomName]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^atrium publish: cannot read \S+no-such\.mp4: /);
});
