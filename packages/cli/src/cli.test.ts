// Unit tests for the dispatcher run in-process: help, usage errors and exit codes, and token create checked
// with livekit-server-sdk's TokenVerifier. Commands that need a server are in e2e/cli.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomConfiguration, TokenVerifier } from 'livekit-server-sdk';
import { COMMANDS, runCli } from './cli.js';
import type { CliIo } from './command.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

test('--help lists every command; no command is a usage error', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  for (const c of COMMANDS) assert.ok(help.stdout.includes(`  ${c.path.join(' ')} `), c.path.join(' '));
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: atrium <command> \[flags\]/);
});

test('every command has --help on stdout with exit code 0, and `help X` is the same', async () => {
  for (const c of COMMANDS) {
    if (c.passThrough) continue; // `server --help` is the server's own usage, which exits the process (e2e/cli.test.ts)
    const r = await run([...c.path, '--help']);
    assert.equal(r.code, 0, c.path.join(' '));
    assert.match(r.stdout, new RegExp(`^usage: atrium ${c.path.join(' ')} `), c.path.join(' '));
    assert.equal(r.stderr, '');
    assert.deepEqual(await run(['help', ...c.path]), r);
  }
  const group = await run(['room', '--help']);
  assert.equal(group.code, 0);
  assert.match(group.stdout, /^usage: atrium room <list\|create\|delete\|update> \[flags\]/);
});

test('unknown commands and flags, missing flags: exit code 2 with the problem and the usage', async () => {
  const cases: [string[], RegExp][] = [
    [['rooms'], /^atrium: unknown command 'rooms'\n\nusage: atrium <command>/],
    [['room', 'lst'], /^atrium: unknown command 'room lst'\n\nusage: atrium room </],
    [['room'], /^atrium: 'room' needs a command/],
    [['room', 'list', '--dev', '--bogus'], /^atrium room list: unknown flag '--bogus'\nusage: atrium room list /],
    [['room', 'list'], /^atrium room list: missing server URL: give --url or set LIVEKIT_URL \(or use --dev\)/],
    [['room', 'list', '--url', 'http://h:1'], /^atrium room list: missing API key \(--api-key or LIVEKIT_API_KEY\) and API secret/],
    [['room', 'delete', '--dev'], /^atrium room delete: missing required flag --room/],
    [['participant', 'mute', '--dev', '--room', 'r', '--identity', 'i'], /^atrium participant mute: missing required flag --track/],
    [['data', 'send', '--dev', '--room', 'r'], /^atrium data send: missing required flag --data/],
    [['token', 'create', '--dev', '--room', 'r'], /^atrium token create: missing required flag --identity/],
    [['room', 'create', '--dev', '--name', 'r', '--max-participants', 'many'], /^atrium room create: --max-participants: 'many' is not a whole number/],
    // Names of Object.prototype members are unknown commands (before: a "group" whose usage printed a function).
    [['constructor'], /^atrium: unknown command 'constructor'\n\nusage: atrium <command>/],
    [['__proto__'], /^atrium: unknown command '__proto__'\n\nusage: atrium <command>/],
    [['help', 'toString'], /^atrium: unknown command 'toString'\n\nusage: atrium <command>/],
    [['token', 'create', '--dev', '--room', 'r', '--identity', 'i', '--allow-source', 'constructor'], /^atrium token create: --allow-source: 'constructor' is not one of/],
  ];
  for (const [argv, pattern] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, pattern, argv.join(' '));
    assert.equal(r.stdout, '', argv.join(' '));
  }
});

test('token create prints a JWT that TokenVerifier accepts, with the asked-for grants', async () => {
  const r = await run(['token', 'create', '--room', 'r1', '--identity', 'alice', '--name', 'Alice', '--no-publish', '--ttl', '30m'], {
    LIVEKIT_API_KEY: 'envkey',
    LIVEKIT_API_SECRET: 'envsecret-envsecret-envsecret-32',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const claims = await new TokenVerifier('envkey', 'envsecret-envsecret-envsecret-32').verify(r.stdout.trim());
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.name, 'Alice');
  assert.deepEqual(claims.video, { room: 'r1', roomJoin: true, canPublish: false, canSubscribe: true, canPublishData: true });
  const lifetimeSec = (claims.exp ?? 0) - (claims.nbf as number);
  assert.equal(lifetimeSec, 1800);
  await assert.rejects(new TokenVerifier('envkey', 'other').verify(r.stdout.trim()));
});

test('token create --json gives the token and its details', async () => {
  const r = await run(['token', 'create', '--dev', '--room', 'r2', '--identity', 'bob', '--admin', '--join', '--allow-source', 'microphone', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out['identity'], 'bob');
  assert.equal(out['room'], 'r2');
  assert.equal(out['url'], 'ws://127.0.0.1:7880');
  assert.equal(out['apiKey'], 'devkey');
  assert.deepEqual(out['grant'], { room: 'r2', roomJoin: true, roomAdmin: true, canPublish: true, canSubscribe: true, canPublishData: true, canPublishSources: ['microphone'] });
  const claims = await new TokenVerifier('devkey', 'secret').verify(String(out['token']));
  assert.equal(new Date(String(out['expiresAt'])).getTime(), (claims.exp ?? 0) * 1000);
  assert.deepEqual(claims.video?.canPublishSources, ['microphone']);
});

test('token create --agent NAME --job-metadata M: the roomConfig claim carries the dispatch in protobuf JSON names', async () => {
  const r = await run(['token', 'create', '--dev', '--room', 'r3', '--identity', 'carol', '--agent', 'greeter', '--job-metadata', '{"topic":"hi"}']);
  assert.equal(r.code, 0, r.stderr);
  const claims = (await new TokenVerifier('devkey', 'secret').verify(r.stdout.trim())) as Record<string, unknown>;
  const roomConfig = claims['roomConfig'] as { agents?: Record<string, unknown>[] };
  assert.equal(roomConfig.agents?.length, 1);
  assert.equal(roomConfig.agents?.[0]?.['agentName'], 'greeter');
  assert.equal(roomConfig.agents?.[0]?.['metadata'], '{"topic":"hi"}');
  assert.equal(roomConfig.agents?.[0]?.['agent_name'], undefined, 'JSON names, not proto names');
  const parsed = RoomConfiguration.fromJson(roomConfig as never);
  assert.deepEqual(parsed.agents.map((a) => [a.agentName, a.metadata]), [['greeter', '{"topic":"hi"}']]);
  assert.deepEqual(claims['video'], { room: 'r3', roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });

  const json = await run(['token', 'create', '--dev', '--room', 'r3', '--identity', 'carol', '--agent', 'greeter', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual((JSON.parse(json.stdout) as { roomConfig: unknown }).roomConfig, { agents: [{ agentName: 'greeter' }] });
});

test('token create --grant \'{"agent":true}\' is an agent worker token; --agent alone needs a name', async () => {
  const r = await run(['token', 'create', '--dev', '--grant', '{"agent":true}']);
  assert.equal(r.code, 0, r.stderr);
  const claims = await new TokenVerifier('devkey', 'secret').verify(r.stdout.trim());
  assert.deepEqual(claims.video, { agent: true });
  assert.equal((claims as Record<string, unknown>)['roomConfig'], undefined);
  const bare = await run(['token', 'create', '--dev', '--room', 'r', '--identity', 'i', '--agent']);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /^atrium token create: flag '--agent' needs a value/);
});
