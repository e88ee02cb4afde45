// Unit tests for where the CLI finds the server and its keys: flags over --dev over LIVEKIT_* variables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConnection, resolveCredentials, resolveUrl, toHttpUrl } from './connection.js';
import { UsageError } from './command.js';

const ENV = { LIVEKIT_URL: 'wss://env.example:7880', LIVEKIT_API_KEY: 'envkey', LIVEKIT_API_SECRET: 'envsecret' };

test('environment variables are used when no flags are given', () => {
  assert.deepEqual(resolveConnection({}, ENV), { url: 'https://env.example:7880', apiKey: 'envkey', apiSecret: 'envsecret' });
});

test('flags override the environment; --dev overrides the environment but not flags', () => {
  assert.deepEqual(resolveConnection({ url: 'ws://h:1', 'api-key': 'k', 'api-secret': 's' }, ENV), { url: 'http://h:1', apiKey: 'k', apiSecret: 's' });
  assert.deepEqual(resolveConnection({ dev: true }, ENV), { url: 'http://127.0.0.1:7880', apiKey: 'devkey', apiSecret: 'secret' });
  assert.deepEqual(resolveConnection({ dev: true, url: 'http://other:9' }, ENV), { url: 'http://other:9', apiKey: 'devkey', apiSecret: 'secret' });
});

test('missing URL or keys are usage errors that say how to give them', () => {
  assert.throws(() => resolveConnection({}, {}), (err: unknown) => err instanceof UsageError && /missing server URL: give --url or set LIVEKIT_URL/.test(err.message));
  assert.throws(
    () => resolveCredentials({ 'api-key': 'k' }, { LIVEKIT_API_SECRET: '' }),
    (err: unknown) => err instanceof UsageError && err.message === 'missing API secret (--api-secret or LIVEKIT_API_SECRET); or use --dev for the development keys',
  );
  assert.equal(resolveUrl({}, {}), undefined);
});

test('toHttpUrl maps ws(s) to http(s), adds http:// to bare hosts and refuses other schemes', () => {
  const cases: [string, string][] = [
    ['ws://127.0.0.1:7880', 'http://127.0.0.1:7880'],
    ['wss://example.com', 'https://example.com'],
    ['https://example.com/', 'https://example.com'],
    ['http://example.com/base/', 'http://example.com/base'],
    ['localhost:7880', 'http://localhost:7880'],
  ];
  for (const [input, output] of cases) assert.equal(toHttpUrl(input), output, input);
  assert.throws(() => toHttpUrl('ftp://x'), /must be http\(s\):\/\/ or ws\(s\):\/\//);
  assert.throws(() => toHttpUrl('http://'), /is not a URL/);
});
