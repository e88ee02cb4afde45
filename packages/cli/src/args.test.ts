// Unit tests for the pure argument helpers: strict parsing errors, durations, counts, key=value pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagOrPositional, optionalDurationSec, optionalInteger, parseCommandArgs, parseDurationSec, parseKeyValues } from './args.js';
import { UsageError } from './command.js';

const OPTIONS = { room: { type: 'string', short: 'r' }, json: { type: 'boolean' }, id: { type: 'string', multiple: true } } as const;

function usageMessage(work: () => unknown): string {
  try {
    work();
  } catch (err) {
    assert.ok(err instanceof UsageError, `a UsageError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a UsageError');
}

test('parseCommandArgs: values, short flags, repeated flags', () => {
  const r = parseCommandArgs(['-r', 'a', '--json', '--id', 'x', '--id=y', 'pos'], OPTIONS, 1);
  assert.deepEqual({ ...r.values }, { room: 'a', json: true, id: ['x', 'y'] });
  assert.deepEqual(r.positionals, ['pos']);
});

test('parseCommandArgs: unknown flags, missing values, values on booleans and extra arguments are usage errors', () => {
  assert.equal(usageMessage(() => parseCommandArgs(['--rooom', 'a'], OPTIONS)), "unknown flag '--rooom'");
  assert.equal(usageMessage(() => parseCommandArgs(['--room'], OPTIONS)), "flag '--room' needs a value");
  assert.equal(usageMessage(() => parseCommandArgs(['--json=yes'], OPTIONS)), "flag '--json' takes no value");
  assert.equal(usageMessage(() => parseCommandArgs(['a', 'b'], OPTIONS, 1)), "unexpected argument: 'b'");
  assert.equal(usageMessage(() => parseCommandArgs(['a', 'b'], OPTIONS)), "unexpected arguments: 'a' 'b'");
});

test('parseDurationSec accepts seconds and unit strings, rejects the rest', () => {
  const good: [string, number][] = [
    ['90', 90],
    ['90s', 90],
    ['30m', 1800],
    ['1h', 3600],
    ['2h30m', 9000],
    ['1d', 86400],
    ['1.5h', 5400],
    [' 10m ', 600],
  ];
  for (const [text, sec] of good) assert.equal(parseDurationSec(text, 'ttl'), sec, text);
  for (const bad of ['', '0', '-5', 'h', '1x', '1h-', 'one hour', '1 h']) {
    assert.match(usageMessage(() => parseDurationSec(bad, 'ttl')), /^--ttl: '.*' is not a duration/, bad);
  }
});

test('optionalDurationSec allows an explicit 0; optionalInteger checks whole numbers', () => {
  assert.equal(optionalDurationSec({ t: '0' }, 't'), 0);
  assert.equal(optionalDurationSec({ t: '5m' }, 't'), 300);
  assert.equal(optionalDurationSec({}, 't'), undefined);
  assert.equal(optionalInteger({ n: '12' }, 'n'), 12);
  assert.equal(optionalInteger({}, 'n'), undefined);
  for (const bad of ['', '1.5', '-1', 'ten']) assert.match(usageMessage(() => optionalInteger({ n: bad }, 'n')), /^--n: '.*' is not a whole number/);
});

test('flagOrPositional takes the flag or the argument and refuses neither or both different', () => {
  assert.equal(flagOrPositional({ values: { room: 'a' }, positionals: [] }, 'room', 'the room'), 'a');
  assert.equal(flagOrPositional({ values: {}, positionals: ['b'] }, 'room', 'the room'), 'b');
  assert.equal(flagOrPositional({ values: { room: 'a' }, positionals: ['a'] }, 'room', 'the room'), 'a');
  assert.equal(usageMessage(() => flagOrPositional({ values: {}, positionals: [] }, 'room', 'the room')), 'missing required flag --room (the room)');
  assert.match(usageMessage(() => flagOrPositional({ values: { room: 'a' }, positionals: ['b'] }, 'room', 'the room')), /disagree/);
});

test('parseKeyValues splits at the first =', () => {
  assert.deepEqual(parseKeyValues(['a=1', 'b=x=y', 'c='], 'attribute'), { a: '1', b: 'x=y', c: '' });
  assert.equal(usageMessage(() => parseKeyValues(['=1'], 'attribute')), "--attribute: '=1' is not key=value");
  assert.equal(usageMessage(() => parseKeyValues(['novalue'], 'attribute')), "--attribute: 'novalue' is not key=value");
});
