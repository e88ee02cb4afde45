import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load-config.js';
import { configIssues } from './config-testing.js';

const base = 'keys:\n  k: s\nbind_addresses: [127.0.0.1]\n';

const issuesOf = (yaml: string): string[] => configIssues({ yaml });

test('web: the app is on by default; dev tokens only in development unless set', () => {
  assert.deepEqual(loadConfig({ yaml: base }).web, { enabled: true, devTokens: false, tokenEndpoint: '', dir: '' });
  assert.equal(loadConfig({ yaml: base, dev: true }).web.devTokens, true);
  assert.equal(loadConfig({ yaml: `${base}development: true\n` }).web.devTokens, true);
  assert.equal(loadConfig({ yaml: `${base}web:\n  dev_tokens: false\n`, dev: true }).web.devTokens, false);
  assert.equal(loadConfig({ yaml: `${base}web:\n  dev_tokens: true\n` }).web.devTokens, true);
  const c = loadConfig({ yaml: `${base}web:\n  enabled: false\n  token_endpoint: https://example.com/api/token\n  dir: /srv/app\n` });
  assert.deepEqual(c.web, { enabled: false, devTokens: false, tokenEndpoint: 'https://example.com/api/token', dir: '/srv/app' });
  assert.equal(loadConfig({ yaml: `${base}web:\n  token_endpoint: /token\n` }).web.tokenEndpoint, '/token');
});

test('web: unknown keys and bad values stop start-up, naming the key', () => {
  assert.deepEqual(issuesOf(`${base}web:\n  enable: true\n`), ['web.enable: unknown key']);
  assert.deepEqual(issuesOf(`${base}web:\n  enabled: yes please\n`), ['web.enabled: must be true or false, got string "yes please"']);
  assert.deepEqual(issuesOf(`${base}web:\n  token_endpoint: javascript:alert(1)\n`), [
    'web.token_endpoint: must be an http(s) URL or a path starting with /, got "javascript:alert(1)"',
  ]);
  assert.deepEqual(issuesOf(`${base}web:\n  token_endpoint: //evil.example/t\n`), [
    'web.token_endpoint: must be an http(s) URL or a path starting with /, got "//evil.example/t"',
  ]);
  assert.deepEqual(issuesOf(`${base}web:\n  dir: ''\n`), ['web.dir: is empty: leave it out for the built-in app']);
  assert.deepEqual(issuesOf(`${base}web: 3\n`), ['web: must be a map, got number 3']);
});
