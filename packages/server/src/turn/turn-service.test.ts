// The embedded TURN service from a ServerConfig: off gives only rtc.turn_servers; on, each participant's credential
// (from its JoinResponse ice_servers) allocates on the real UDP listener, and the relay may reach only this node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { systemClock, silentLogger } from '@atrium/webrtc';
import { TurnTestClient, readTurnAnswer } from '@atrium/webrtc/testing/turn-test-client.js';
import type { TurnAnswer } from '@atrium/webrtc/testing/turn-test-client.js';
import { devConfig } from '../config/server-config.js';
import { startTurnService, TURN_REALM } from './turn-service.js';

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('off: no listener, only the outside servers in ice_servers', async () => {
  const svc = await startTurnService(devConfig({ rtc: { turnServers: [{ host: '192.0.2.1', port: 3478, protocol: 'udp', username: 'u', credential: 'c' }] } }),
    { clock: systemClock, logger: silentLogger, bindAddress: '127.0.0.1' });
  assert.equal(svc.udpPort, undefined);
  assert.equal(svc.server, undefined);
  assert.deepEqual(svc.iceServers({ sid: 'PA_1', identity: 'a' }).map((s) => s.urls), [['turn:192.0.2.1:3478?transport=udp']]);
  await svc.close();
});

test('on: a participant credential allocates; peers other than this node are refused (403); each participant gets its own', async () => {
  const port = await freeUdpPort();
  const relayStart = await freeUdpPort();
  const svc = await startTurnService(devConfig({ turn: { enabled: true, udpPort: port, relayRangeStart: relayStart, relayRangeEnd: relayStart + 10 } }),
    { clock: systemClock, logger: silentLogger, bindAddress: '127.0.0.1' });
  const client: Socket = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  try {
    assert.equal(svc.udpPort, port);
    const servers = svc.iceServers({ sid: 'PA_alice', identity: 'alice' });
    assert.equal(servers.length, 1);
    const ice = servers[0]!;
    assert.deepEqual(ice.urls, [`turn:127.0.0.1:${port}?transport=udp`]);
    assert.match(ice.username, /^\d+:PA_alice$/);
    const expiry = Number(ice.username.split(':')[0]);
    assert.ok(Math.abs(expiry - (Date.now() / 1000 + 3600)) < 5, 'valid for an hour');
    assert.notEqual(svc.iceServers({ sid: 'PA_bob', identity: 'bob' })[0]!.credential, ice.credential);

    const ask = (m: Buffer): Promise<TurnAnswer> => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer')), 2000);
      client.once('message', (x) => {
        clearTimeout(t);
        resolve(readTurnAnswer(x));
      });
      client.send(m, port, '127.0.0.1');
    });
    const tc = new TurnTestClient(ice.username, ice.credential);
    const challenge = await ask(tc.allocate([], { authenticated: false }));
    assert.equal(challenge.realm, TURN_REALM);
    tc.learn(challenge);
    const ok = await ask(tc.allocate());
    assert.equal(ok.errorCode, undefined);
    assert.equal(ok.relayed?.address, '127.0.0.1');
    assert.ok(ok.relayed!.port >= relayStart && ok.relayed!.port <= relayStart + 10);
    assert.equal((await ask(tc.createPermission({ address: '127.0.0.1', port: 7882 }))).errorCode, undefined, 'this node');
    assert.equal((await ask(tc.createPermission({ address: '10.1.2.3', port: 80 }))).errorCode, 403, 'an open relay would let this through');
    assert.equal((await ask(tc.channelBind(0x4000, { address: '192.168.1.1', port: 53 }))).errorCode, 403);
    // Another participant's username with this credential: refused.
    const forged = new TurnTestClient(ice.username.replace('PA_alice', 'PA_mallory'), ice.credential);
    forged.learn(challenge);
    assert.equal((await ask(forged.allocate())).errorCode, 401);
  } finally {
    client.close();
    await svc.close();
  }
});
