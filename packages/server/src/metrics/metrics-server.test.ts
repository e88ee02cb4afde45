// The /metrics listener: open by default; with prometheus.username/password it answers 401 with a Basic challenge
// unless the request carries exactly those credentials. Also the constant-time credential check itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@atrium/webrtc';
import { MetricsRegistry } from './registry.js';
import { startMetricsServer } from './metrics-server.js';
import { METRICS_AUTH_CHALLENGE, constantTimeEquals, isAuthorized } from './basic-auth.js';

const basic = (userPass: string): string => `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;

test('isAuthorized: exactly the configured Basic credentials', () => {
  const auth = { username: 'scraper', password: 'p:ss wörd' };
  assert.equal(isAuthorized(basic('scraper:p:ss wörd'), auth), true);
  assert.equal(isAuthorized(`basic  ${Buffer.from('scraper:p:ss wörd').toString('base64')}`, auth), true, 'scheme is case-insensitive');
  for (const bad of [undefined, '', 'Basic', 'Bearer abc', basic('scraper'), basic('scraper:'), basic('scraper:p:ss wörd '), basic('Scraper:p:ss wörd'), basic(':p:ss wörd'), 'Basic !!!']) {
    assert.equal(isAuthorized(bad, auth), false, String(bad));
  }
  assert.equal(constantTimeEquals('a', 'a'), true);
  assert.equal(constantTimeEquals('a', 'ab'), false);
  assert.equal(constantTimeEquals('', ''), true);
});

test('/metrics with prometheus credentials: 401 + WWW-Authenticate without them, 200 with them', async () => {
  const registry = new MetricsRegistry();
  registry.gauge({ name: 'atrium_test_total', help: 'a test gauge' }).set({}, 7);
  const auth = { username: 'scraper', password: 'secret' };
  const protectedServer = await startMetricsServer({ registry, port: 0, bindAddresses: ['127.0.0.1'], logger: silentLogger, auth });
  const openServer = await startMetricsServer({ registry, port: 0, bindAddresses: ['127.0.0.1'], logger: silentLogger });
  try {
    const url = `http://127.0.0.1:${protectedServer.port}/metrics`;
    const attempts: Record<string, string>[] = [{}, { Authorization: basic('scraper:wrong') }, { Authorization: basic('other:secret') }, { Authorization: 'Basic %%%' }];
    for (const headers of attempts) {
      const res = await fetch(url, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), METRICS_AUTH_CHALLENGE);
      assert.ok(!(await res.text()).includes('atrium_test_total'));
    }
    const ok = await fetch(url, { headers: { Authorization: basic('scraper:secret') } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^atrium_test_total 7$/m);
    const open = await fetch(`http://127.0.0.1:${openServer.port}/metrics`);
    assert.equal(open.status, 200);
    assert.match(await open.text(), /^atrium_test_total 7$/m);
  } finally {
    await protectedServer.close();
    await openServer.close();
  }
});
