// Unit tests for `atrium dispatch`: ROOM [ID] as arguments or flags, generated room names, usage errors and exit codes
// (run in-process; the calls against a server are in e2e/cli-dispatch.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagsOrPositionals, newRoomName } from './commands/dispatch.js';
import { runCli } from './cli.js';
import { UsageError } from './command.js';
import type { CliIo } from './command.js';

const ROOM_ID = [['room', 'the room'], ['id', 'the dispatch ID']] as const;

test('flagsOrPositionals: flags first, positionals fill the rest in order', () => {
  assert.deepEqual(flagsOrPositionals({ values: {}, positionals: ['r', 'AD_1'] }, ROOM_ID), ['r', 'AD_1']);
  assert.deepEqual(flagsOrPositionals({ values: { room: 'r', id: 'AD_1' }, positionals: [] }, ROOM_ID), ['r', 'AD_1']);
  assert.deepEqual(flagsOrPositionals({ values: { room: 'r' }, positionals: ['AD_1'] }, ROOM_ID), ['r', 'AD_1']);
  assert.deepEqual(flagsOrPositionals({ values: { id: 'AD_1' }, positionals: ['r'] }, ROOM_ID), ['r', 'AD_1']);
});

test('flagsOrPositionals: a missing value or a left-over argument is a usage error naming it', () => {
  const message = (values: Record<string, string>, positionals: string[]): string => {
    try {
      flagsOrPositionals({ values, positionals }, ROOM_ID);
    } catch (err) {
      assert.ok(err instanceof UsageError);
      return err.message;
    }
    return assert.fail('expected a UsageError');
  };
  assert.equal(message({}, ['r']), 'missing required flag --id (the dispatch ID; or give ROOM ID as arguments)');
  assert.equal(message({}, []), 'missing required flag --room (the room; or give ROOM ID as arguments)');
  assert.equal(message({ room: '' }, []), 'missing required flag --room (the room; or give ROOM ID as arguments)');
  assert.equal(message({ room: 'r', id: 'AD_1' }, ['x']), "unexpected argument: 'x'");
});

test('newRoomName: room- and 12 base62 characters', () => {
  assert.equal(newRoomName(() => new Uint8Array([0, 1, 10, 35, 36, 61, 62, 63, 255, 9, 9, 9])), 'room-01AZaz017999');
  assert.match(newRoomName(), /^room-[0-9A-Za-z]{12}$/);
  assert.notEqual(newRoomName(), newRoomName());
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {} };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

test('dispatch command lines refused before any request: exit code 2, the problem and the usage', async () => {
  const cases: [string[], RegExp][] = [
    [['dispatch'], /^atrium: 'dispatch' needs a command\n\nusage: atrium dispatch <create\|list\|get\|delete>/],
    [['dispatch', 'create', '--dev', '--agent-name', 'a'], /^atrium dispatch create: missing required flag --room \(or --new-room for a generated room name\)\nusage: atrium dispatch create /],
    [['dispatch', 'create', '--dev', '--room', 'r'], /^atrium dispatch create: missing required flag --agent-name \(the agent to dispatch\)/],
    [['dispatch', 'create', '--dev', '--room', 'r', '--new-room', '--agent-name', 'a'], /^atrium dispatch create: give --room or --new-room, not both/],
    [['dispatch', 'create', '--dev', '--room', 'r', '--agent-name', 'a', '--deploy', 'x'], /^atrium dispatch create: unknown flag '--deploy'/],
    [['dispatch', 'list', '--dev'], /^atrium dispatch list: missing required flag --room \(the room whose dispatches to list; or give ROOM as arguments\)/],
    [['dispatch', 'list', '--dev', 'a', 'b'], /^atrium dispatch list: unexpected argument: 'b'/],
    [['dispatch', 'get', '--dev', 'r'], /^atrium dispatch get: missing required flag --id/],
    [['dispatch', 'delete', '--dev', 'r'], /^atrium dispatch delete: missing required flag --id \(the dispatch ID; or give ROOM ID as arguments\)/],
    [['dispatch', 'delete', '--dev', '--room', 'r', '--id', 'AD_1', 'extra'], /^atrium dispatch delete: unexpected argument: 'extra'/],
    [['dispatch', 'delete', 'r', 'AD_1'], /^atrium dispatch delete: missing server URL/],
  ];
  for (const [argv, pattern] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, pattern, argv.join(' '));
    assert.equal(r.stdout, '', argv.join(' '));
  }
});
