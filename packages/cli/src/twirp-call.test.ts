// Unit tests for the request-message Twirp path the egress and ingress commands use: the path, the body as LiveKit
// JSON, a token with the grant asked for, the answer read back, and Twirp errors worded like the SDK clients' errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateIngressRequest, EgressInfo, EgressStatus, IngressInput, TrackEgressRequest } from '@livekit/protocol';
import { TokenVerifier } from 'livekit-server-sdk';
import { twirpCall } from './twirp-call.js';
import { readRequestFile } from './request-file.js';
import { buildCreateRequest } from './commands/ingress.js';
import { CliError, UsageError } from './command.js';

async function withServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void, work: (url: string) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await work(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test('twirpCall posts the message as JSON to /twirp/<service>/<method> with a token carrying the grant', async () => {
  let seen: { path?: string; body?: unknown; grant?: unknown } = {};
  await withServer(
    async (req, body, res) => {
      const claims = await new TokenVerifier('key', 'secret').verify((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      seen = { path: req.url, body: JSON.parse(body), grant: claims.video };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ egress_id: 'EG_1', status: 'EGRESS_ACTIVE', room_name: 'r', some_future_field: 1 }));
    },
    async (url) => {
      const info = await twirpCall(
        { url: `${url}/`, apiKey: 'key', apiSecret: 'secret' },
        { service: 'livekit.Egress', method: 'StartTrackEgress', grant: { roomRecord: true } },
        new TrackEgressRequest({ roomName: 'r', trackId: 'TR_a' }),
        EgressInfo,
      );
      assert.equal(info.egressId, 'EG_1');
      assert.equal(info.status, EgressStatus.EGRESS_ACTIVE);
    },
  );
  assert.equal(seen.path, '/twirp/livekit.Egress/StartTrackEgress');
  assert.deepEqual(seen.body, { roomName: 'r', trackId: 'TR_a' });
  assert.deepEqual(seen.grant, { roomRecord: true });
});

test('a Twirp error answer reads as its code and message', async () => {
  await withServer(
    (_req, _body, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code: 'not_found', msg: 'room r does not exist' }));
    },
    async (url) => {
      await assert.rejects(
        twirpCall({ url, apiKey: 'k', apiSecret: 's' }, { service: 'livekit.Egress', method: 'StopEgress', grant: { roomRecord: true } }, new TrackEgressRequest(), EgressInfo),
        (err: unknown) => err instanceof CliError && err.message === 'not_found (HTTP 404): room r does not exist',
      );
    },
  );
});

test('readRequestFile: proto or JSON names; a bad file names the file and the type', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-req-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ room_name: 'r', trackId: 'TR_a', file: { filepath: 'x.ogg' } }));
  const req = readRequestFile(good, TrackEgressRequest);
  assert.equal(req.roomName, 'r');
  assert.equal(req.trackId, 'TR_a');
  assert.equal(req.output.case, 'file');
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ room_name: 'r', no_such_field: 1 }));
  assert.throws(() => readRequestFile(bad, TrackEgressRequest), (err: unknown) => err instanceof CliError && err.message.startsWith(`${bad} is not a TrackEgressRequest in JSON`));
  assert.throws(() => readRequestFile(join(dir, 'missing.json'), TrackEgressRequest), (err: unknown) => err instanceof CliError && err.message.startsWith('cannot read'));
  assert.equal(readRequestFile('-', TrackEgressRequest, () => '{"roomName":"from-stdin"}').roomName, 'from-stdin');
});

test('ingress create: flags alone, or over a request file', () => {
  const req = buildCreateRequest({ input: 'whip', room: 'r', identity: 'cam', name: 'Cam' });
  assert.equal(req.inputType, IngressInput.WHIP_INPUT);
  assert.equal(req.roomName, 'r');
  assert.equal(req.participantIdentity, 'cam');
  assert.equal(req.name, 'Cam');
  assert.equal(buildCreateRequest({ room: 'r', identity: 'i' }).inputType, IngressInput.RTMP_INPUT);
  assert.throws(() => buildCreateRequest({ input: 'srt', room: 'r', identity: 'i' }), UsageError);
  assert.throws(() => buildCreateRequest({ identity: 'i' }), /--room/);
  assert.throws(() => buildCreateRequest({ input: 'url', room: 'r', identity: 'i' }), /--source-url/);
  const dir = mkdtempSync(join(tmpdir(), 'atrium-req-'));
  const file = join(dir, 'create.json');
  writeFileSync(file, new CreateIngressRequest({ inputType: IngressInput.URL_INPUT, url: 'http://x/a.mp4', roomName: 'from-file', participantIdentity: 'p' }).toJsonString());
  const merged = buildCreateRequest({ request: file, room: 'override' });
  assert.equal(merged.inputType, IngressInput.URL_INPUT);
  assert.equal(merged.url, 'http://x/a.mp4');
  assert.equal(merged.roomName, 'override');
});
