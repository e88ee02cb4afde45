// The ice_servers a participant gets: LiveKit's URL forms for the embedded server and for rtc.turn_servers, in the
// JoinResponse and the ReconnectResponse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Room as RoomInfo, ParticipantInfo } from '@livekit/protocol';
import { embeddedTurnUrls, externalIceServer, iceServersFor } from './ice-servers.js';
import { joinResponse, reconnectResponse } from '../rtc/join-response.js';
import { PublishCodecs } from '../rtc/publish-codecs.js';

test('embedded URLs: turn: on the node address over UDP, turns: on the domain over TCP; absent ports left out', () => {
  assert.deepEqual(embeddedTurnUrls({ nodeIp: '203.0.113.5', udpPort: 3478, domain: 'turn.example.com', tlsPort: 5349 }), [
    'turn:203.0.113.5:3478?transport=udp',
    'turns:turn.example.com:5349?transport=tcp',
  ]);
  assert.deepEqual(embeddedTurnUrls({ nodeIp: '2001:db8::5', udpPort: 3478, domain: '', tlsPort: undefined }), ['turn:[2001:db8::5]:3478?transport=udp']);
  assert.deepEqual(embeddedTurnUrls({ nodeIp: '203.0.113.5', udpPort: undefined, domain: 'd.example', tlsPort: 443 }), ['turns:d.example:443?transport=tcp']);
});

test('outside servers: udp/tcp as turn: with their transport, tls as turns: over tcp, credentials as given', () => {
  const s = (protocol: 'udp' | 'tcp' | 'tls') => externalIceServer({ host: 'coturn.example', port: 3478, protocol, username: 'u', credential: 'c' });
  assert.deepEqual(s('udp').urls, ['turn:coturn.example:3478?transport=udp']);
  assert.deepEqual(s('tcp').urls, ['turn:coturn.example:3478?transport=tcp']);
  assert.deepEqual(s('tls').urls, ['turns:coturn.example:3478?transport=tcp']);
  assert.equal(s('tls').username, 'u');
  assert.equal(s('tls').credential, 'c');
});

test('the list: embedded first (when on), then every outside server; JoinResponse and ReconnectResponse carry it', () => {
  const list = iceServersFor({
    embedded: { urls: ['turn:127.0.0.1:3478?transport=udp'], username: '1700003600:PA_x', credential: 'secret' },
    external: [{ host: '127.0.0.1', port: 3479, protocol: 'udp', username: 'a', credential: 'b' }],
  });
  assert.deepEqual(list.map((s) => [s.urls, s.username, s.credential]), [
    [['turn:127.0.0.1:3478?transport=udp'], '1700003600:PA_x', 'secret'],
    [['turn:127.0.0.1:3479?transport=udp'], 'a', 'b'],
  ]);
  assert.deepEqual(iceServersFor({ embedded: undefined, external: [] }), []);

  const join = joinResponse({
    room: new RoomInfo({ name: 'r' }), participant: new ParticipantInfo({ identity: 'x' }), others: [], nodeId: 'ND_1',
    subscriberPrimary: true, publishCodecs: PublishCodecs.all(), iceServers: list,
  });
  assert.equal(join.message.case, 'join');
  assert.deepEqual(join.message.value?.iceServers.map((s) => s.urls[0]), ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3479?transport=udp']);
  const reconnect = reconnectResponse({ nodeId: 'ND_1', iceServers: list });
  assert.equal(reconnect.message.case, 'reconnect');
  assert.equal(reconnect.message.value?.iceServers.length, 2);
  assert.equal((reconnectResponse({ nodeId: 'ND_1' }).message.value as { iceServers: unknown[] }).iceServers.length, 0);
});
