// `atrium load-test` flags: lk's names and defaults, our additions, and clear usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../command.js';
import { loadTest } from '../commands/load-test.js';
import { findCommand } from '../cli.js';
import { parseLoadTestOptions } from './options.js';
import { frameSizes, opusSizes, videoLayers } from './media-plan.js';

const parse = (args: string[]) => parseLoadTestOptions(parseCommandArgs(args, loadTest.options).values, () => 'abc123');

test('defaults: as lk, one video publisher and one subscriber when no counts are given; 720p simulcast, 5 per second, until Ctrl-C', () => {
  assert.deepEqual(parse([]), {
    room: 'load-test-abc123', durationSec: 0, videoPublishers: 1, audioPublishers: 0, subscribers: 1, identityPrefix: 'lt-abc123',
    videoResolution: 'high', simulcast: true, numPerSecond: 5, maxLossPct: 1, isJson: false, decryptEvery: 16,
  });
});

test('the flags of the issue shape, lk names and aliases', () => {
  const o = parse(['--room', 'r1', '--video-publishers', '2', '--subscribers', '5', '--duration', '8s', '--json', '--max-loss', '0.5',
    '--num-per-second', '2.5', '--video-resolution', 'Medium', '--no-simulcast', '--identity-prefix', 'bot', '--video-codec', 'VP8', '--url', 'ws://x']);
  assert.equal(o.room, 'r1');
  assert.equal(o.videoPublishers, 2);
  assert.equal(o.audioPublishers, 0, 'a count given: no defaults added');
  assert.equal(o.subscribers, 5);
  assert.equal(o.durationSec, 8);
  assert.equal(o.isJson, true);
  assert.equal(o.maxLossPct, 0.5);
  assert.equal(o.numPerSecond, 2.5);
  assert.equal(o.videoResolution, 'medium');
  assert.equal(o.simulcast, false);
  assert.equal(o.identityPrefix, 'bot');
  assert.equal(parse(['--publishers', '3']).videoPublishers, 3, 'lk alias');
  assert.equal(parse(['--audio-publishers', '10', '--subscribers', '200']).videoPublishers, 0);
  assert.equal(parse(['--duration', '2m']).durationSec, 120);
  assert.equal(parse(['--simulcast']).simulcast, true);
  assert.equal(parse(['--max-loss', '0']).maxLossPct, 0);
  assert.equal(parse(['--decrypt-every', '1']).decryptEvery, 1, 'every packet decrypted');
  assert.equal(parse(['--decrypt-every', '64']).decryptEvery, 64);
});

test('bad values are usage errors naming the flag', () => {
  const bad: [string[], RegExp][] = [
    [['--video-publishers', '-1'], /--video-publishers/],
    [['--subscribers', 'many'], /--subscribers/],
    [['--publishers', '2', '--video-publishers', '3'], /disagree/],
    [['--video-resolution', '4k'], /--video-resolution: '4k'/],
    [['--video-codec', 'h264'], /not supported yet/],
    [['--simulcast', '--no-simulcast'], /contradict/],
    [['--max-loss', '101'], /at most 100/],
    [['--max-loss', 'x'], /--max-loss/],
    [['--num-per-second', '0'], /--num-per-second/],
    [['--duration', 'soon'], /--duration/],
    [['--room', ' '], /--room/],
    [['--decrypt-every', '0'], /--decrypt-every/],
    [['--decrypt-every', '1.5'], /--decrypt-every/],
  ];
  for (const [args, message] of bad) assert.throws(() => parse(args), (e: unknown) => e instanceof UsageError && message.test(e.message), args.join(' '));
  assert.throws(() => parse(['--run-all']), /unknown flag '--run-all'/, 'lk flags we do not have (its hidden suite runner) are refused, not ignored');
  assert.equal(parse(['--simulate-speakers']).simulateSpeakers, true);
  assert.equal(parse([]).simulateSpeakers, undefined);
});

test('video layers: 720p simulcast is q/h/f at 180p 15 fps, 360p and 720p 30 fps; without simulcast the top layer alone', () => {
  assert.deepEqual(videoLayers('high', true).map((l) => [l.rid, l.width, l.height, l.fps, l.bitrateBps]), [
    ['q', 320, 180, 15, 150_000], ['h', 640, 360, 30, 500_000], ['f', 1280, 720, 30, 1_700_000],
  ]);
  assert.deepEqual(videoLayers('medium', true).map((l) => l.rid), ['q', 'h']);
  assert.deepEqual(videoLayers('high', false).map((l) => [l.rid, l.width]), [['', 1280]]);
  assert.deepEqual(videoLayers('low', true).map((l) => [l.rid, l.width]), [['', 320]], 'one layer is not simulcast');
});

test('frame sizes: a key frame 5x the mean, every 2 s, the group averaging the layer bitrate', () => {
  for (const layer of videoLayers('high', true)) {
    const sizes = frameSizes(layer);
    assert.equal(sizes.length, layer.fps * 2);
    const mean = layer.bitrateBps / 8 / layer.fps;
    assert.ok(Math.abs(sizes[0]! - 5 * mean) <= 1);
    const bps = (sizes.reduce((a, b) => a + b, 0) * 8) / 2;
    assert.ok(Math.abs(bps - layer.bitrateBps) / layer.bitrateBps < 0.03, `${layer.rid}: ${bps} bps`);
    assert.ok(sizes.slice(1).every((s) => s < sizes[0]!), 'deltas are smaller');
  }
  assert.deepEqual(frameSizes(videoLayers('high', true)[2]!), frameSizes(videoLayers('high', true)[2]!), 'seeded: runs alike');
  const opus = opusSizes();
  assert.equal(opus.length, 50);
  assert.ok(opus.every((s) => s >= 60 && s <= 100));
});

test("lk's two names: `load-test` and `perf load-test` are the same command", () => {
  const a = findCommand(['load-test', '--subscribers', '2']);
  const b = findCommand(['perf', 'load-test', '--subscribers', '2']);
  assert.ok('cmd' in a && 'cmd' in b);
  assert.equal(a.cmd.run, b.cmd.run);
  assert.deepEqual(a.cmd.options, b.cmd.options);
  assert.deepEqual(a.rest, b.rest);
});

test("--layout: lk's speaker, 3x3, 4x4 and 5x5; anything else is a usage error; absent by default", () => {
  assert.equal(parseLoadTestOptions({}, () => 'x').layout, undefined);
  for (const l of ['speaker', '3x3', '4x4', '5x5']) assert.equal(parseLoadTestOptions({ layout: l }, () => 'x').layout, l);
  assert.throws(() => parseLoadTestOptions({ layout: 'grid' }, () => 'x'), /--layout: 'grid' is not one of speaker, 3x3, 4x4, 5x5/);
});

test('--udp-recv: auto, dgram or native; anything else is a usage error; absent by default (the tester then uses auto)', () => {
  assert.equal(parseLoadTestOptions({}, () => 'x').udpRecv, undefined);
  for (const r of ['auto', 'dgram', 'native']) assert.equal(parseLoadTestOptions({ 'udp-recv': r }, () => 'x').udpRecv, r);
  assert.throws(() => parseLoadTestOptions({ 'udp-recv': 'fast' }, () => 'x'), /--udp-recv: 'fast' is not one of auto, dgram, native/);
});

test('--talkers: how many audio publishers talk at a time; at most the audio publishers; absent by default', () => {
  assert.equal(parse(['--audio-publishers', '10', '--subscribers', '5', '--talkers', '2']).talkers, 2);
  assert.equal(parse(['--audio-publishers', '3', '--talkers', '0']).talkers, 0);
  assert.equal('talkers' in parse(['--audio-publishers', '3']), false);
  assert.throws(() => parse(['--audio-publishers', '3', '--talkers', '4']), (e: unknown) => e instanceof UsageError && /--talkers: 4 is more than the 3 audio publishers/.test(e.message));
  assert.throws(() => parse(['--audio-publishers', '3', '--talkers', 'two']), (e: unknown) => e instanceof UsageError && /--talkers/.test(e.message));
});
