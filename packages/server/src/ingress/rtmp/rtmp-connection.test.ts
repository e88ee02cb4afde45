import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAmf0, encodeAmf0 } from './amf0.js';
import type { Amf0Value } from './amf0.js';
import { ChunkReader, MSG, writeMessage } from './chunk-stream.js';
import type { RtmpMessage } from './chunk-stream.js';
import { RtmpConnection } from './rtmp-connection.js';
import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';
import type { PublishDecision, PublishRequest } from './rtmp-connection.js';

/** A publisher's side: what it sends, as ffmpeg and OBS send it. */
function c0c1(): Buffer {
  const b = Buffer.alloc(1537);
  b[0] = 3;
  for (let i = 9; i < b.length; i++) b[i] = i & 0xff;
  return b;
}

function cmd(values: Amf0Value[], streamId = 0, chunkSize = 128): Buffer {
  return writeMessage(chunkSize, { chunkStreamId: 3, typeId: MSG.commandAmf0, streamId, timestamp: 0, payload: encodeAmf0(values) });
}

interface Harness {
  conn: RtmpConnection;
  out: RtmpMessage[];
  media: { kind: string; timestamp: number; payload: Buffer }[];
  publishes: PublishRequest[];
  ended: string[];
  unpublished: number;
  unpublishErrors: string[];
  handshakeReply: Buffer[];
}

function harness(decide: (r: PublishRequest) => PublishDecision = () => ({ ok: true })): Harness {
  const h: Harness = { out: [], media: [], publishes: [], ended: [], unpublished: 0, unpublishErrors: [], handshakeReply: [], conn: undefined as unknown as RtmpConnection };
  // Replies are read back with our own chunk reader (after the 3073-byte S0/S1/S2).
  const reader = new ChunkReader((m) => h.out.push(m));
  let handshakeLeft = 3073;
  h.conn = new RtmpConnection({
    handler: {
      onPublish: (r) => {
        h.publishes.push(r);
        return decide(r);
      },
      onMedia: (kind, timestamp, payload) => h.media.push({ kind, timestamp, payload }),
      onUnpublish: (error) => {
        h.unpublished++;
        if (error !== undefined) h.unpublishErrors.push(error);
      },
    },
    write: (b) => {
      if (handshakeLeft > 0) {
        const take = Math.min(handshakeLeft, b.length);
        h.handshakeReply.push(b.subarray(0, take));
        handshakeLeft -= take;
        b = b.subarray(take);
      }
      if (b.length > 0) reader.push(b);
    },
    end: (reason) => h.ended.push(reason),
  });
  return h;
}

function publishSequence(key: string, chunkSize = 128): Buffer[] {
  return [
    c0c1(),
    Buffer.alloc(1536, 7),
    writeMessage(128, { chunkStreamId: 2, typeId: MSG.setChunkSize, streamId: 0, timestamp: 0, payload: Buffer.from([0, 0, chunkSize >> 8, chunkSize & 0xff]) }),
    cmd(['connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1:1935/live', type: 'nonprivate' }], 0, chunkSize),
    cmd(['releaseStream', 2, null, key], 0, chunkSize),
    cmd(['FCPublish', 3, null, key], 0, chunkSize),
    cmd(['createStream', 4, null], 0, chunkSize),
    cmd(['publish', 5, null, key, 'live'], 1, chunkSize),
  ];
}

const commands = (h: Harness): Amf0Value[][] => h.out.filter((m) => m.typeId === MSG.commandAmf0).map((m) => decodeAmf0(m.payload));

test('AMF0 round trip: numbers, strings, objects, arrays, null, undefined, dates', () => {
  const values: Amf0Value[] = ['connect', 1, { app: 'live', nested: { a: true, b: [1, 'x', null] } }, null, undefined, new Date(1_000)];
  const back = decodeAmf0(encodeAmf0(values));
  assert.equal(back[0], 'connect');
  assert.equal(back[1], 1);
  assert.deepEqual({ ...(back[2] as object) }, { app: 'live', nested: back[2] && (back[2] as { nested: unknown }).nested });
  assert.deepEqual((back[2] as { nested: { b: unknown } }).nested.b, [1, 'x', null]);
  assert.equal(back[3], null);
  assert.equal(back[4], undefined);
  assert.equal((back[5] as Date).getTime(), 1_000);
  assert.throws(() => decodeAmf0(Buffer.of(0x02, 0x00, 0x05, 0x61)), /truncated/);
  assert.throws(() => decodeAmf0(Buffer.of(0x42)), /unknown AMF0 type/);
  // 20 nested objects: over the depth limit.
  const deep = Buffer.concat([...Array.from({ length: 20 }, () => Buffer.of(0x03, 0x00, 0x01, 0x61)), Buffer.of(0x05)]);
  assert.throws(() => decodeAmf0(deep), /nested deeper/);
});

test('chunk reader: messages split in chunks of every format, extended timestamps, fed byte by byte', () => {
  const got: RtmpMessage[] = [];
  const r = new ChunkReader((m) => got.push(m));
  const big = Buffer.alloc(300, 1);
  const wire = Buffer.concat([
    writeMessage(128, { chunkStreamId: 4, typeId: MSG.video, streamId: 1, timestamp: 1_000, payload: big }),
    // format 1 (new length and type, a delta), format 2 (a delta), format 3 (the same delta again)
    Buffer.of(0x44, 0, 0, 33, 0, 0, 2, MSG.video, 9, 9),
    Buffer.of(0x84, 0, 0, 34, 8, 8),
    Buffer.of(0xc4, 7, 7),
    writeMessage(128, { chunkStreamId: 5, typeId: MSG.audio, streamId: 1, timestamp: 0x1234567, payload: Buffer.alloc(200, 2) }),
  ]);
  for (const b of wire) r.push(Buffer.of(b));
  assert.deepEqual(got.map((m) => [m.chunkStreamId, m.typeId, m.timestamp, m.payload.length]), [
    [4, MSG.video, 1_000, 300], [4, MSG.video, 1_033, 2], [4, MSG.video, 1_067, 2], [4, MSG.video, 1_101, 2], [5, MSG.audio, 0x1234567, 200],
  ]);
  assert.ok(got[0]!.payload.equals(big));
  assert.equal(r.buffered, 0);
});

test('chunk reader limits: oversized messages, huge chunk sizes, too many chunk streams, headers without a start', () => {
  const r1 = new ChunkReader(() => {});
  assert.throws(() => r1.push(Buffer.of(0x03, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0)), /a message of 16777215 bytes/);
  const r2 = new ChunkReader(() => {});
  assert.throws(() => r2.push(writeMessage(128, { chunkStreamId: 2, typeId: MSG.setChunkSize, streamId: 0, timestamp: 0, payload: Buffer.from([0x7f, 0xff, 0xff, 0xff]) })), /chunk size/);
  const r3 = new ChunkReader(() => {});
  assert.throws(() => {
    for (let csid = 2; csid < 63; csid++) r3.push(Buffer.of(csid, 0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 1));
    for (let n = 0; n < 100; n++) r3.push(Buffer.of(0, n, 0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 1));
  }, /more than 64 chunk streams/);
  const r4 = new ChunkReader(() => {});
  assert.throws(() => r4.push(Buffer.of(0xc7)), /starts with a format 3 header/);
});

test('a publisher connects, publishes its stream key, sends media and unpublishes', () => {
  const h = harness();
  for (const b of publishSequence('abcdefKEY123?token=1', 4096)) h.conn.push(b);
  const s0s1s2 = Buffer.concat(h.handshakeReply);
  assert.equal(s0s1s2[0], 3);
  assert.ok(s0s1s2.subarray(1537).equals(c0c1().subarray(1)), 'S2 echoes C1');
  assert.deepEqual(h.publishes, [{ app: 'live', streamKey: 'abcdefKEY123', tcUrl: 'rtmp://127.0.0.1:1935/live' }]);
  const cmds = commands(h);
  assert.equal(cmds[0]![0], '_result');
  assert.equal((cmds[0]![3] as { code: string }).code, 'NetConnection.Connect.Success');
  assert.deepEqual(cmds.find((c) => c[1] === 4), ['_result', 4, null, 1], 'createStream gives stream 1');
  const onStatus = cmds.find((c) => c[0] === 'onStatus')!;
  assert.equal((onStatus[3] as { code: string }).code, 'NetStream.Publish.Start');
  assert.ok(h.conn.isPublishing);
  assert.ok(h.out.some((m) => m.typeId === MSG.windowAckSize) && h.out.some((m) => m.typeId === MSG.setPeerBandwidth));

  const avc = Buffer.concat([Buffer.of(0x17, 1, 0, 0, 0), Buffer.alloc(6000, 5)]);
  h.conn.push(writeMessage(4096, { chunkStreamId: 6, typeId: MSG.video, streamId: 1, timestamp: 40, payload: avc }));
  h.conn.push(writeMessage(4096, { chunkStreamId: 4, typeId: MSG.audio, streamId: 1, timestamp: 41, payload: Buffer.of(0xaf, 1, 2, 3) }));
  h.conn.push(writeMessage(4096, { chunkStreamId: 5, typeId: MSG.dataAmf0, streamId: 1, timestamp: 0, payload: encodeAmf0(['@setDataFrame', 'onMetaData', { width: 1280, height: 720 }]) }));
  assert.deepEqual(h.media.map((m) => [m.kind, m.timestamp, m.payload.length]), [['video', 40, 6005], ['audio', 41, 4], ['metadata', 0, encodeAmf0(['onMetaData', { width: 1280, height: 720 }]).length]]);
  assert.deepEqual(decodeAmf0(h.media[2]!.payload).map((v) => (typeof v === 'object' ? { ...(v as object) } : v)), ['onMetaData', { width: 1280, height: 720 }]);

  h.conn.push(cmd(['FCUnpublish', 6, null, 'abcdefKEY123'], 0, 4096));
  h.conn.push(cmd(['deleteStream', 7, null, 1], 0, 4096));
  assert.equal(h.unpublished, 1);
  assert.equal(h.ended.length, 0);
});

test('an unknown stream key gets NetStream.Publish.BadName and the connection is closed', () => {
  const h = harness(() => ({ ok: false, code: 'NetStream.Publish.BadName', description: 'no ingress has this stream key' }));
  for (const b of publishSequence('nope')) h.conn.push(b);
  const onStatus = commands(h).find((c) => c[0] === 'onStatus')!;
  assert.deepEqual({ ...(onStatus[3] as object) }, { level: 'error', code: 'NetStream.Publish.BadName', description: 'no ingress has this stream key' });
  assert.deepEqual(h.ended, ['publish refused: no ingress has this stream key']);
  assert.equal(h.conn.isPublishing, false);
  h.conn.push(Buffer.alloc(100, 1)); // ignored once closed
  assert.equal(h.ended.length, 1);
});

test('a wrong RTMP version or garbage after the handshake closes with a protocol error', () => {
  const h = harness();
  const bad = c0c1();
  bad[0] = 0x47; // "GET ..." from an HTTP client
  h.conn.push(bad);
  assert.match(h.ended[0]!, /protocol error: RTMP version 71/);
  const h2 = harness();
  h2.conn.push(Buffer.concat(publishSequence('KEY').slice(0, 2)));
  h2.conn.push(Buffer.of(0x03, 0, 0, 0, 0, 0, 5, 20, 0, 0, 0, 0, 0x42, 1, 2, 3, 4));
  assert.match(h2.ended[0]!, /protocol error: unknown AMF0 type/);
  // A publishing stream broken by garbage: unpublished with the error (the ingress shows ERROR), not a normal end.
  const h3 = harness();
  for (const b of publishSequence('KEY')) h3.conn.push(b);
  assert.ok(h3.conn.isPublishing);
  h3.conn.push(Buffer.of(0x46, 0, 0, 0, 0, 0, 1, 9, 0));
  assert.equal(h3.unpublished, 1);
  assert.match(h3.unpublishErrors[0]!, /protocol error: chunk stream 6 starts with a format 1 header/);
});

test('fuzz: random bytes, truncated and mutated publish sequences never throw and never hold more than the limits', () => {
  const seed = Number(process.env['FUZZ_SEED'] ?? 1935);
  const rand = seededRandom(seed);
  const good = Buffer.concat([
    ...publishSequence('KEY'),
    writeMessage(128, { chunkStreamId: 6, typeId: MSG.video, streamId: 1, timestamp: 40, payload: Buffer.alloc(3000, 0x17) }),
  ]);
  let closed = 0;
  let published = 0;
  for (let run = 0; run < 500; run++) {
    const h = harness();
    let input: Buffer;
    const mode = run % 4;
    if (mode === 0) input = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8000) }, () => Math.floor(rand() * 256)));
    else if (mode === 1) input = good.subarray(0, Math.floor(rand() * good.length));
    else {
      input = Buffer.from(good);
      const flips = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < flips; i++) {
        // Mutations after the handshake, where they reach the chunk reader and AMF0.
        const at = 3073 + Math.floor(rand() * (input.length - 3073));
        input[at] = mode === 2 ? Math.floor(rand() * 256) : 0xff;
      }
    }
    // Random read sizes, as a socket gives them.
    let at = 0;
    while (at < input.length) {
      const n = 1 + Math.floor(rand() * 2000);
      assert.doesNotThrow(() => h.conn.push(input.subarray(at, at + n)), `run ${run} (seed ${seed})`);
      at += n;
    }
    if (h.ended.length > 0) closed++;
    if (h.publishes.length > 0) published++;
    assert.ok(h.ended.length <= 1);
  }
  assert.ok(closed > 100, `garbage closes connections (${closed} of 500)`);
  assert.ok(published > 50, `intact prefixes still publish (${published})`);
});
