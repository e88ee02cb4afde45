import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateIngressRequest, DeleteIngressRequest, IngressInput, ListIngressRequest, ListIngressResponse, UpdateIngressRequest } from '@livekit/protocol';
import type { IngressInfo } from '@livekit/protocol';
import type { ClaimGrants } from '@atrium/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { IngressRegistry } from '../ingress/ingress-registry.js';
import { createIngressService } from './ingress-service.js';
import { TwirpError } from './twirp.js';

const admin: ClaimGrants = { identity: '', apiKey: 'k', video: { ingressAdmin: true } };
const roomAdmin: ClaimGrants = { identity: '', apiKey: 'k', video: { roomAdmin: true, roomCreate: true, roomList: true } };

function service() {
  const registry = new IngressRegistry({ clock: new ManualClock(), logger: silentLogger, whipBaseUrl: () => 'http://h/w', maxActive: 0 });
  return createIngressService({ ingresses: registry });
}

async function twirpCode(call: () => unknown): Promise<string> {
  try {
    await call();
  } catch (err) {
    assert.ok(err instanceof TwirpError, String(err));
    return `${err.code} ${err.status}`;
  }
  return 'ok';
}

test('every method needs ingressAdmin (LiveKit: unauthenticated "permissions denied")', async () => {
  const svc = service();
  const calls = [
    () => svc['CreateIngress']!.handle(new CreateIngressRequest({ inputType: IngressInput.WHIP_INPUT, roomName: 'r', participantIdentity: 'p' }), roomAdmin),
    () => svc['UpdateIngress']!.handle(new UpdateIngressRequest({ ingressId: 'IN_x' }), roomAdmin),
    () => svc['ListIngress']!.handle(new ListIngressRequest({}), undefined),
    () => svc['DeleteIngress']!.handle(new DeleteIngressRequest({ ingressId: 'IN_x' }), roomAdmin),
  ];
  for (const call of calls) assert.equal(await twirpCode(call), 'unauthenticated 401');
});

test('create, list, update, delete; coded errors become Twirp errors of the same code', async () => {
  const svc = service();
  const created = (await svc['CreateIngress']!.handle(new CreateIngressRequest({ inputType: IngressInput.WHIP_INPUT, roomName: 'r', participantIdentity: 'p' }), admin)) as IngressInfo;
  assert.match(created.ingressId, /^IN_/);
  const listed = (await svc['ListIngress']!.handle(new ListIngressRequest({ roomName: 'r' }), admin)) as ListIngressResponse;
  assert.deepEqual(listed.items.map((i) => i.ingressId), [created.ingressId]);
  const updated = (await svc['UpdateIngress']!.handle(new UpdateIngressRequest({ ingressId: created.ingressId, name: 'renamed' }), admin)) as IngressInfo;
  assert.equal(updated.name, 'renamed');
  assert.equal(await twirpCode(() => svc['CreateIngress']!.handle(new CreateIngressRequest({ inputType: IngressInput.RTMP_INPUT, roomName: 'r', participantIdentity: 'p', bypassTranscoding: true }), admin)), 'invalid_argument 400');
  assert.equal(await twirpCode(() => svc['CreateIngress']!.handle(new CreateIngressRequest({ inputType: IngressInput.WHIP_INPUT, roomName: '', participantIdentity: 'p' }), admin)), 'invalid_argument 400');
  await svc['DeleteIngress']!.handle(new DeleteIngressRequest({ ingressId: created.ingressId }), admin);
  assert.equal(await twirpCode(() => svc['DeleteIngress']!.handle(new DeleteIngressRequest({ ingressId: created.ingressId }), admin)), 'not_found 404');
});
