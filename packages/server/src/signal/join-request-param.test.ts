// The v1 `join_request` parameter (docs/signal-v1.md): plain and gzip WrappedJoinRequests as livekit-client builds them,
// the settings read from them, and garbage refused with a ConnectParamsError naming what is wrong (a 400).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  ClientInfo, ClientInfo_Capability, ClientInfo_SDK, ConnectionSettings, JoinRequest, ReconnectReason, SessionDescription,
  WrappedJoinRequest, WrappedJoinRequest_Compression,
} from '@livekit/protocol';
import { parseJoinRequestParam, MAX_JOIN_REQUEST_BYTES } from './join-request-param.js';
import { connectParamsFromJoinRequest, ConnectParamsError } from './connect-params.js';

/** What livekit-client does: base64 with `+/` turned into `-_`, padding kept. */
function encode(jr: JoinRequest | Uint8Array, compression: WrappedJoinRequest_Compression): string {
  const bytes = jr instanceof JoinRequest ? jr.toBinary() : jr;
  const payload = compression === WrappedJoinRequest_Compression.GZIP ? gzipSync(bytes) : bytes;
  const wrapped = new WrappedJoinRequest({ compression, joinRequest: payload }).toBinary();
  return Buffer.from(wrapped).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

const sample = new JoinRequest({
  clientInfo: new ClientInfo({
    sdk: ClientInfo_SDK.JS, version: '2.23.0', protocol: 17, clientProtocol: 1, browser: 'Chrome',
    capabilities: [ClientInfo_Capability.CAP_PACKET_TRAILER],
  }),
  connectionSettings: new ConnectionSettings({ autoSubscribe: false, adaptiveStream: true, subscriberAllowPause: true }),
  publisherOffer: new SessionDescription({ type: 'offer', sdp: 'v=0\r\n', id: 1 }),
});

test('plain and gzip join requests give the same settings', () => {
  for (const compression of [WrappedJoinRequest_Compression.NONE, WrappedJoinRequest_Compression.GZIP]) {
    const p = connectParamsFromJoinRequest(parseJoinRequestParam(encode(sample, compression)));
    assert.equal(p.isSinglePeerConnection, true);
    assert.equal(p.sdk, 'js');
    assert.equal(p.sdkVersion, '2.23.0');
    assert.equal(p.protocol, 17);
    assert.equal(p.clientProtocol, 1);
    assert.equal(p.autoSubscribe, false);
    assert.equal(p.adaptiveStream, true);
    assert.equal(p.subscriberAllowPause, true);
    assert.equal(p.browser, 'Chrome');
    assert.deepEqual(p.capabilities, ['CAP_PACKET_TRAILER']);
    assert.deepEqual(p.publisherOffer, { sdp: 'v=0\r\n', id: 1 });
    assert.equal(p.isReconnect, false);
    assert.equal(p.metadata, undefined);
  }
});

test('a reconnect join request names the participant it resumes; padding is optional', () => {
  const jr = new JoinRequest({ reconnect: true, participantSid: 'PA_abc', reconnectReason: ReconnectReason.RR_SIGNAL_DISCONNECTED, metadata: 'm', participantAttributes: { a: '1' } });
  const p = connectParamsFromJoinRequest(parseJoinRequestParam(encode(jr, WrappedJoinRequest_Compression.GZIP).replace(/=+$/, '')));
  assert.equal(p.isReconnect, true);
  assert.equal(p.sid, 'PA_abc');
  assert.equal(p.reconnectReason, ReconnectReason.RR_SIGNAL_DISCONNECTED);
  assert.equal(p.publisherOffer, undefined);
  assert.equal(p.autoSubscribe, true, 'no connection settings: auto subscribe as LiveKit');
  assert.equal(p.metadata, 'm');
  assert.deepEqual(p.attributes, { a: '1' });
});

test('garbage is a ConnectParamsError that says what is wrong', () => {
  const tooBig = new JoinRequest({ metadata: 'x'.repeat(MAX_JOIN_REQUEST_BYTES + 10) });
  const cases: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['not base64url', 'abc+/def', /not base64url/],
    ['impossible length', 'abcde', /not base64url/],
    ['not a WrappedJoinRequest', Buffer.from([0xff, 0xff, 0xff, 0xff]).toString('base64url'), /not a WrappedJoinRequest/],
    ['unknown compression', Buffer.from(new WrappedJoinRequest({ compression: 7 as WrappedJoinRequest_Compression, joinRequest: new Uint8Array([1]) }).toBinary()).toString('base64url'), /compression 7/],
    ['gzip that is not', Buffer.from(new WrappedJoinRequest({ compression: WrappedJoinRequest_Compression.GZIP, joinRequest: Buffer.from('hello') }).toBinary()).toString('base64url'), /does not decompress/],
    ['gzip bomb', encode(tooBig, WrappedJoinRequest_Compression.GZIP), /larger than/],
    ['plain too big', encode(tooBig, WrappedJoinRequest_Compression.NONE), /larger than/],
    ['not a JoinRequest', encode(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), WrappedJoinRequest_Compression.NONE), /does not hold a JoinRequest/],
  ];
  for (const [name, value, message] of cases) {
    assert.throws(() => parseJoinRequestParam(value), (err: unknown) => err instanceof ConnectParamsError && message.test(err.message), name);
  }
  const answer = new JoinRequest({ publisherOffer: new SessionDescription({ type: 'answer', sdp: 'v=0', id: 1 }) });
  assert.throws(() => connectParamsFromJoinRequest(parseJoinRequestParam(encode(answer, WrappedJoinRequest_Compression.NONE))), /must be of type offer/);
});

test('2,000 seeded random join_request values: a JoinRequest or a ConnectParamsError, never anything else', () => {
  let seed = 0x5eed;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rand(256));
  for (let i = 0; i < 2000; i++) {
    // Raw bytes, or a well-formed wrapper (either compression, or a bogus one) around random or gzip'd random bytes.
    const kind = rand(4);
    const inner = bytes(rand(300));
    const value = kind === 0
      ? Buffer.from(bytes(rand(200))).toString('base64url')
      : Buffer.from(new WrappedJoinRequest({
        compression: (kind === 3 ? rand(5) : kind - 1) as WrappedJoinRequest_Compression,
        joinRequest: kind === 2 ? gzipSync(inner) : inner,
      }).toBinary()).toString('base64url');
    try {
      connectParamsFromJoinRequest(parseJoinRequestParam(value));
    } catch (err) {
      assert.ok(err instanceof ConnectParamsError, `case ${i}: ${String(err)}`);
    }
  }
});
