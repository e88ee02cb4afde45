// Unit tests for how API failures read: refused connections (a real closed port), 401s, Twirp errors, timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TwirpError } from 'livekit-server-sdk';
import { callApi, callDispatchApi, describeApiError } from './api-client.js';
import { CliError } from './command.js';

const URL = 'http://127.0.0.1:1';

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

test('a refused connection names the URL and ECONNREFUSED', async () => {
  const url = await closedPortUrl();
  await assert.rejects(
    callApi({ url, apiKey: 'k', apiSecret: 's' }, (c) => c.listRooms()),
    (err: unknown) => err instanceof CliError && err.message === `cannot reach Atrium at ${url}: ECONNREFUSED`,
  );
});

test('AgentDispatchService calls fail the same way: a refused connection names the URL', async () => {
  const url = await closedPortUrl();
  await assert.rejects(
    callDispatchApi({ url, apiKey: 'k', apiSecret: 's' }, (c) => c.listDispatch('r')),
    (err: unknown) => err instanceof CliError && err.message === `cannot reach Atrium at ${url}: ECONNREFUSED`,
  );
});

test('an answer that is not a Twirp error (no JSON code) says so, shortened', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/html' });
    res.end(`<html>${'x'.repeat(1000)}</html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await assert.rejects(callApi({ url, apiKey: 'k', apiSecret: 's' }, (c) => c.listRooms()), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.match(err.message, new RegExp(`^${url} answered HTTP 404 \\(not an Atrium API answer\\?\\): <html>x+\\.\\.\\.$`));
      assert.ok(err.message.length < 400);
      return true;
    });
  } finally {
    server.close();
  }
});

test('describeApiError: 401, Twirp code and message, timeouts, unknown errors', () => {
  const cases: [unknown, string][] = [
    [new TwirpError('Unauthorized', 'invalid authorization token', 401), 'the server rejected the API key/secret (401: invalid authorization token)'],
    [new TwirpError('Unauthorized', 'permissions denied', 401, 'unauthenticated'), 'the server rejected the API key/secret (401 unauthenticated: permissions denied)'],
    [new TwirpError('Not Found', 'requested room does not exist', 404, 'not_found'), 'not_found (HTTP 404): requested room does not exist'],
    [Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }), `cannot reach Atrium at ${URL}: no answer within 10 s`],
    [new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND nohost'), { code: 'ENOTFOUND' }) }), `cannot reach Atrium at ${URL}: ENOTFOUND`],
    [new TypeError('fetch failed', { cause: new Error('other socket trouble') }), `cannot reach Atrium at ${URL}: other socket trouble`],
    [new Error('boom'), `request to ${URL} failed: boom`],
  ];
  for (const [err, message] of cases) assert.equal(describeApiError(err, URL).message, message);
});
