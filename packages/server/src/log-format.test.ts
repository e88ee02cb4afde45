// Console log lines: time, level, message, room/participant context first, then the other fields; JSON kept as is
// when asked; a broken output (EPIPE) or a throwing one never reaches the caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { createLogDestination, formatLogLine, guardOutput, isOutputBroken } from './log-format.js';
import type { OutputStream } from './log-format.js';
import { createLogger } from './logger.js';

const T = Date.UTC(2026, 10, 21, 9, 5, 7, 42);

test('a pino line becomes HH:MM:SS.mmm LEVEL msg with context first and key=value fields', () => {
  const line = JSON.stringify({
    level: 30, time: T, pid: 1, hostname: 'h', name: 'atrium', component: 'media', mid: '0', track: 'TR_x', pID: 'PA_a',
    participant: 'alice', roomID: 'RM_r', room: 'demo', msg: 'subscribed', bitrateBps: 64000, ok: true, none: null,
  });
  assert.equal(
    formatLogLine(`${line}\n`, { utc: true }),
    '09:05:07.042 INFO  subscribed room=demo roomID=RM_r participant=alice pID=PA_a track=TR_x component=media mid=0 bitrateBps=64000 ok=true none=null\n',
  );
});

test('levels, quoting of awkward values, objects as JSON, no message', () => {
  const f = (o: Record<string, unknown>): string => formatLogLine(JSON.stringify({ time: T, ...o }), { utc: true });
  assert.equal(f({ level: 10, msg: 'x' }), '09:05:07.042 TRACE x\n');
  assert.equal(f({ level: 20, msg: 'x' }), '09:05:07.042 DEBUG x\n');
  assert.equal(f({ level: 40, msg: 'x' }), '09:05:07.042 WARN  x\n');
  assert.equal(f({ level: 60, msg: 'x' }), '09:05:07.042 FATAL x\n');
  assert.equal(
    f({ level: 30, msg: 'join refused', participant: 'Bob Smith', reason: '', eq: 'a=b', q: 'say "hi"', list: [1, 2], obj: { a: 1 } }),
    '09:05:07.042 INFO  join refused participant="Bob Smith" reason="" eq="a=b" q="say \\"hi\\"" list=[1,2] obj={"a":1}\n',
  );
  assert.equal(f({ level: 30, url: 'ws://127.0.0.1:7880' }), '09:05:07.042 INFO  url=ws://127.0.0.1:7880\n');
  assert.equal(formatLogLine('not json'), 'not json\n');
  assert.equal(formatLogLine('[1,2]\n'), '[1,2]\n');
  assert.match(formatLogLine(JSON.stringify({ level: 50, time: T, msg: 'm' }), { colour: true }), /\x1b\[31mERROR\x1b\[0m m\n$/);
});

test('errors read Type: message inline with the stack frames below', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(formatLogLine(s, { utc: true })) });
  const err = Object.assign(new TypeError('bad thing'), { code: 'E_BAD' });
  logger.error({ err, room: 'r' }, 'join failed');
  const [first, ...frames] = (lines[0] ?? '').trimEnd().split('\n');
  assert.match(first ?? '', /^\d\d:\d\d:\d\d\.\d{3} ERROR join failed room=r err="TypeError: bad thing \(E_BAD\)"$/);
  assert.ok(frames.length > 0 && frames.every((l) => /^ {4}at /.test(l)), frames.join('\n'));
});

test('createLogger: console lines by default, JSON lines with json: true', () => {
  const out: string[] = [];
  const stream: OutputStream = { write: (s: string) => out.push(s), on: () => undefined };
  createLogger({ level: 'info', destination: createLogDestination({ json: false, stream, format: { utc: true } }) }).info({ room: 'r' }, 'hello');
  createLogger({ level: 'info', destination: createLogDestination({ json: true, stream }) }).info({ room: 'r' }, 'hello');
  assert.match(out[0] ?? '', /^\d\d:\d\d:\d\d\.\d{3} INFO  hello room=r\n$/);
  const json = JSON.parse(out[1] ?? '') as Record<string, unknown>;
  assert.equal(json['msg'], 'hello');
  assert.equal(json['room'], 'r');
  assert.equal(json['level'], 30);
});

/** A stream whose writes fail like a closed pipe: asynchronously, with an 'error' event. */
class ClosedPipe extends EventEmitter implements OutputStream {
  writes = 0;
  write(): boolean {
    this.writes++;
    process.nextTick(() => this.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
    return false;
  }
}

test('EPIPE on the output: no crash, later lines are dropped', async () => {
  const pipe = new ClosedPipe();
  const logger = createLogger({ level: 'info', destination: createLogDestination({ json: false, stream: pipe }) });
  logger.info('first');
  await new Promise((r) => setImmediate(r)); // the error event is emitted on the next tick; without a listener it would throw
  assert.equal(isOutputBroken(pipe), true);
  logger.info('second');
  assert.equal(pipe.writes, 1, 'nothing written after the pipe broke');
  guardOutput(pipe); // idempotent
  assert.equal(pipe.listenerCount('error'), 1);
});

test('a stream that throws on write does not throw into the logger', () => {
  const stream: OutputStream = {
    write: () => {
      throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
    },
    on: () => undefined,
  };
  const logger = createLogger({ level: 'info', destination: createLogDestination({ json: true, stream }) });
  assert.doesNotThrow(() => logger.info('x'));
  assert.equal(isOutputBroken(stream), true);
});
