// A client that stops pinging (its network vanished without closing TCP) is removed after the ping timeout
// the JoinResponse announced, while a client that keeps pinging stays. Time is a ManualClock.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ping, ParticipantInfo_State } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { createServer, type AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { TestSignalClient } from './test-signal-client.js';

let server: AtriumServer | undefined;
const clients: TestSignalClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

test('the server drops a participant that sends nothing for the ping timeout', async () => {
  const clock = new ManualClock();
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: new FakeMediaFactory(), clock, logger: silentLogger });
  const silent = await TestSignalClient.join(server.url, 'silent');
  const alive = await TestSignalClient.join(server.url, 'alive');
  clients.push(silent, alive);
  const join = await silent.waitFor((m) => m.case === 'join');
  assert.equal(join.case === 'join' && join.value.pingTimeout, 15);

  let pongs = 0;
  for (let second = 5; second <= 15; second += 5) {
    alive.send({ case: 'pingReq', value: new Ping({ timestamp: BigInt(second * 1000) }) });
    pongs++;
    await alive.waitFor((m) => m.case === 'pongResp' && m.value.lastPingTimestamp === BigInt(second * 1000));
    clock.advance(5000);
  }
  assert.equal(pongs, 3);
  await silent.waitClosed(3000);
  const gone = await alive.waitFor(
    (m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'silent' && p.state === ParticipantInfo_State.DISCONNECTED),
  );
  assert.equal(gone.case, 'update');
  // The pinging client is still served.
  alive.send({ case: 'pingReq', value: new Ping({ timestamp: 99n }) });
  await alive.waitFor((m) => m.case === 'pongResp' && m.value.lastPingTimestamp === 99n);
  assert.equal(server.rooms.getRoom('test')?.participantCount ?? -1, 1);
});
