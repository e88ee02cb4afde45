import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConnectParams, ConnectParamsError } from './connect-params.js';

test('livekit-client style query', () => {
  const p = parseConnectParams(new URLSearchParams('access_token=x&auto_subscribe=1&sdk=js&version=2.23.0&protocol=17&client_protocol=1&adaptive_stream=1'));
  assert.equal(p.autoSubscribe, true);
  assert.equal(p.sdk, 'js');
  assert.equal(p.sdkVersion, '2.23.0');
  assert.equal(p.protocol, 17);
  assert.equal(p.clientProtocol, 1);
  assert.equal(p.adaptiveStream, true);
  assert.equal(p.isReconnect, false);
  assert.equal(p.subscriberAllowPause, undefined);
});

test('defaults and flags', () => {
  const table: [string, boolean][] = [['', true], ['auto_subscribe=0', false], ['auto_subscribe=true', true], ['auto_subscribe=false', false]];
  for (const [q, want] of table) assert.equal(parseConnectParams(new URLSearchParams(q)).autoSubscribe, want, q);
  const r = parseConnectParams(new URLSearchParams('reconnect=1&sid=PA_abc&reconnect_reason=1&capabilities=CAP_A,CAP_B&subscriber_allow_pause=0'));
  assert.equal(r.isReconnect, true);
  assert.equal(r.sid, 'PA_abc');
  assert.equal(r.reconnectReason, 1);
  assert.deepEqual(r.capabilities, ['CAP_A', 'CAP_B']);
  assert.equal(r.subscriberAllowPause, false);
});

test('garbage numbers are a ConnectParamsError', () => {
  for (const q of ['protocol=abc', 'protocol=1e9', 'client_protocol=%00', 'reconnect_reason=99999999999999']) {
    assert.throws(() => parseConnectParams(new URLSearchParams(q)), ConnectParamsError, q);
  }
});
