import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRoomRequest, highestLayerRequest, messageBody, pluginData, publishRequest, subscribeRequest, trickleBody, JanusError } from './janus-api.js';
import { fixCandidateLines, offerForJanus } from './janus-participant.js';
import { janusConfigFiles } from './janus-server.js';

test('plugin messages carry the body, the transaction and a JSEP only when given', () => {
  assert.deepEqual(messageBody({ request: 'start' }, 't1'), { janus: 'message', transaction: 't1', body: { request: 'start' } });
  const jsep = { type: 'answer' as const, sdp: 'v=0' };
  assert.deepEqual(messageBody({ request: 'start' }, 't2', jsep).jsep, jsep);
  assert.deepEqual(trickleBody('completed', 't3'), { janus: 'trickle', transaction: 't3', candidate: { completed: true } });
});

test('VideoRoom requests: a VP8/Opus room, publish with descriptions, one subscription for every feed, top layer', () => {
  const room = createRoomRequest(7, 30);
  assert.equal(room.request, 'create');
  assert.equal(room.publishers, 30);
  assert.equal(room.videocodec, 'vp8');
  assert.equal(room.audiocodec, 'opus');
  assert.deepEqual(publishRequest(7, 'a', { audio: true, video: true }).descriptions, [{ mid: '0', description: 'mic' }, { mid: '1', description: 'cam' }]);
  assert.deepEqual(publishRequest(7, 'v', { audio: false, video: true }).descriptions, [{ mid: '0', description: 'cam' }]);
  const sub = subscribeRequest(7, [11, 12]);
  assert.equal(sub.ptype, 'subscriber');
  assert.deepEqual(sub.streams, [{ feed: 11 }, { feed: 12 }]);
  assert.deepEqual(highestLayerRequest(['1']), { request: 'configure', streams: [{ mid: '1', substream: 2, temporal: 1 }] });
});

test('pluginData returns the plugin data and throws on API and plugin errors', () => {
  assert.deepEqual(pluginData({ janus: 'success', plugindata: { plugin: 'p', data: { videoroom: 'created' } } }), { videoroom: 'created' });
  assert.throws(() => pluginData({ janus: 'error', error: { code: 458, reason: 'No such session' } }), JanusError);
  assert.throws(() => pluginData({ janus: 'event', plugindata: { plugin: 'p', data: { error: 'No such room', error_code: 426 } } }), /426/);
});

test('our offer as Janus gets it: setup active, candidate lines with the attribute name once', () => {
  const sdp = 'v=0\r\na=setup:actpass\r\na=candidate:candidate:1 1 udp 2130706431 10.99.0.1 5000 typ host\r\n';
  assert.equal(offerForJanus(sdp), 'v=0\r\na=setup:active\r\na=candidate:1 1 udp 2130706431 10.99.0.1 5000 typ host\r\n');
  assert.equal(fixCandidateLines('a=candidate:1 1 udp 1 127.0.0.1 9 typ host\n'), 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host\n');
});

test('the generated Janus config loads only the VideoRoom and HTTP, ICE-lite on the given address', () => {
  const files = janusConfigFiles({ dir: '/tmp/x', libDir: '/usr/lib/x86_64-linux-gnu/janus', httpPort: 8123, iceAddress: '10.99.0.1', rtpPortRange: '20000-60000', debugLevel: 3, eventLoops: 2 });
  const main = files['janus.jcfg']!;
  assert.match(main, /ice_lite = true/);
  assert.match(main, /ice_enforce_list = "10.99.0.1"/);
  assert.match(main, /event_loops = 2/);
  assert.doesNotMatch(main.split('plugins: {')[1]!.split('}')[0]!, /videoroom/);
  assert.match(main.split('transports: {')[1]!.split('}')[0]!, /websockets/);
  assert.match(files['janus.transport.http.jcfg']!, /port = 8123/);
  assert.doesNotMatch(janusConfigFiles({ dir: '/d', libDir: '/l', httpPort: 1, iceAddress: 'a', rtpPortRange: '1-2', debugLevel: 3, eventLoops: 0 })['janus.jcfg']!, /event_loops/);
});
