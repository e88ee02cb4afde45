// Candidate line parsing/formatting (RFC 8839 5.1) and priorities (RFC 8445 5.1.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatePriority, formatIceCandidate, isUsableUdpCandidate, parseIceCandidate, tcpLocalPreference } from './ice-candidate.js';
import { randomPwd, randomUfrag } from './ice-credentials.js';

test('priorities', () => {
  assert.equal(candidatePriority(126, 65535, 1), 2130706431);
  assert.equal(candidatePriority(110, 65535, 1), 1862270975);
  assert.equal(candidatePriority(0, 0, 256), 0);
});

test('parses browser candidates and keeps only usable UDP ones', () => {
  const srflx = parseIceCandidate(
    'a=candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 50000 generation 0 ufrag Ab/+ network-cost 999',
  );
  assert.deepEqual(srflx, {
    foundation: '842163049',
    component: 1,
    transport: 'udp',
    priority: 1677729535,
    address: '203.0.113.7',
    port: 46154,
    type: 'srflx',
    relatedAddress: '10.0.0.2',
    relatedPort: 50000,
  });
  assert.ok(isUsableUdpCandidate(srflx!));
  const host = parseIceCandidate('candidate:1 1 UDP 2130706431 127.0.0.1 7882 typ host');
  assert.ok(host && isUsableUdpCandidate(host));
  const v6 = parseIceCandidate('candidate:2 1 udp 2122262783 2001:db8::5 5000 typ host generation 0');
  assert.ok(v6 && isUsableUdpCandidate(v6));
  for (const unusable of [
    'candidate:3 1 udp 2122262783 3c1f8a3e-1111-2222-3333-444455556666.local 5000 typ host',
    'candidate:4 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active',
    'candidate:5 2 udp 2130706430 127.0.0.1 7883 typ host',
    'candidate:6 1 udp 41885439 198.51.100.1 3478 typ relay raddr 0.0.0.0 rport 0',
  ]) {
    const c = parseIceCandidate(unusable);
    assert.ok(c, unusable);
    assert.equal(isUsableUdpCandidate(c), false, unusable);
  }
  for (const bad of ['', 'candidate:', 'candidate:1 1 udp x 1.2.3.4 5 typ host', 'candidate:1 1 udp 1 1.2.3.4 99999 typ host', 'candidate:1 1 udp 1 1.2.3.4 5 host x']) {
    assert.equal(parseIceCandidate(bad), undefined, bad);
  }
});

test('format round trip', () => {
  const line = 'candidate:1 1 udp 2130706431 127.0.0.1 7882 typ host';
  assert.equal(formatIceCandidate(parseIceCandidate(line)!), line);
  const srflx = 'candidate:9 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 50000';
  assert.equal(formatIceCandidate(parseIceCandidate(srflx)!), srflx);
});

test('credentials are ice-chars of the required length', () => {
  const u = randomUfrag();
  const p = randomPwd();
  assert.match(u, /^[A-Za-z0-9+/]{16}$/);
  assert.match(p, /^[A-Za-z0-9+/]{24}$/);
  assert.notEqual(randomUfrag(), u);
});

test('TCP candidates (RFC 6544): tcptype parsed and written, local preference by direction', () => {
  const active = parseIceCandidate('candidate:1936 1 tcp 1518280447 192.168.1.5 9 typ host tcptype active generation 0 ufrag x network-id 1');
  assert.equal(active?.transport, 'tcp');
  assert.equal(active?.tcpType, 'active');
  assert.equal(active?.port, 9);
  assert.ok(active && !isUsableUdpCandidate(active));
  const line = formatIceCandidate({ foundation: '2', component: 1, transport: 'tcp', priority: 2124414975, address: '10.0.0.1', port: 7881, type: 'host', tcpType: 'passive' });
  assert.equal(line, 'candidate:2 1 tcp 2124414975 10.0.0.1 7881 typ host tcptype passive');
  assert.deepEqual(parseIceCandidate(line), { foundation: '2', component: 1, transport: 'tcp', priority: 2124414975, address: '10.0.0.1', port: 7881, type: 'host', tcpType: 'passive' });
  assert.equal(tcpLocalPreference('active', 8191), 6 * 8192 + 8191);
  assert.equal(tcpLocalPreference('passive', 8191), 4 * 8192 + 8191);
  assert.equal(tcpLocalPreference('so', 0), 2 * 8192);
  assert.equal(candidatePriority(126, tcpLocalPreference('passive', 8191), 1), 2124414975);
  assert.ok(2124414975 < candidatePriority(126, 65535, 1));
});
