// limit.agent_signal_message_size_limit through createServer: a worker message over the limit closes the worker's
// socket with 1009 (message too big); up to the limit it is read (here: garbage, so 1007 malformed); 0 means no limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { silentLogger } from '@atrium/webrtc';
import { createAccessToken } from '@atrium/protocol';
import { createServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';

const MiB = 1024 * 1024;

/** Starts Atrium with the given limit (undefined: the default), sends one binary frame of `size` 0xff bytes, returns the close code. */
async function closeCodeFor(limit: number | undefined, size: number): Promise<number> {
  const server = await createServer(
    devConfig({ port: 0, rtc: { udpPort: 0 }, ...(limit !== undefined ? { limit: { agentSignalMessageSizeLimit: limit } } : {}) }),
    { mediaFactory: new FakeMediaFactory(), logger: silentLogger },
  );
  try {
    const token = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'worker', video: { agent: true } });
    const ws = new WebSocket(`${server.url}/agent`, { headers: { Authorization: `Bearer ${token}` } });
    ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.alloc(size, 0xff));
    return await closed;
  } finally {
    await server.close();
  }
}

test("LiveKit's default limit, 2 MiB: 1.5 MiB is read (malformed: 1007), 2 MiB + 1 is too big (1009)", async () => {
  assert.equal(await closeCodeFor(undefined, 1.5 * MiB), 1007);
  assert.equal(await closeCodeFor(undefined, 2 * MiB + 1), 1009);
});

test('a configured limit applies; 0 means no limit', async () => {
  assert.equal(await closeCodeFor(256, 257), 1009);
  assert.equal(await closeCodeFor(256, 256), 1007);
  assert.equal(await closeCodeFor(0, 3 * MiB), 1007);
});
