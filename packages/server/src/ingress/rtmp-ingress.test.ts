import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateIngressRequest, IngressInput, IngressState_Status as S } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { IngressRegistry } from './ingress-registry.js';
import { RtmpIngress } from './rtmp-ingress.js';
import type { RtmpPeer } from './rtmp/rtmp-server.js';

/** Who may publish: the decisions RtmpIngress takes on `publish`, before any ffmpeg runs. */
function setup(maxActive = 0) {
  const registry = new IngressRegistry({
    clock: new ManualClock(), logger: silentLogger, whipBaseUrl: () => 'http://h/w', rtmpBaseUrl: () => 'rtmp://h:1935/x', maxActive,
  });
  const opened: string[] = [];
  // The session never opens here: the stream's start fails, which ends it (and frees its key) a moment later.
  const rtmp = new RtmpIngress({
    ingresses: registry,
    sessions: { open: async (info) => { opened.push(info.ingressId); throw new Error('no media in this test'); } },
    logger: silentLogger,
  });
  const closed: string[] = [];
  const peer = (): RtmpPeer => ({ remote: '127.0.0.1:1', pause: () => {}, resume: () => {}, close: (r) => void closed.push(r) });
  const create = (input = IngressInput.RTMP_INPUT, enabled = true) =>
    registry.create(new CreateIngressRequest({ inputType: input, roomName: 'r', participantIdentity: `p${Math.random()}`, enabled }));
  const publish = (key: string) => rtmp.handlerFor(peer()).onPublish({ app: 'x', streamKey: key, tcUrl: 'rtmp://h:1935/x' });
  return { registry, rtmp, create, publish, opened, closed };
}

test('publish decisions: unknown key, a WHIP key, a disabled ingress, a live key and the node limit are refused with BadName and a reason', async () => {
  const { registry, rtmp, create, publish, opened, closed } = setup(2);
  const a = create();
  assert.deepEqual(publish('nope'), { ok: false, code: 'NetStream.Publish.BadName', description: 'no RTMP ingress has this stream key' });
  assert.equal(publish(create(IngressInput.WHIP_INPUT).streamKey).ok, false, 'a WHIP ingress key is not an RTMP key');
  assert.deepEqual(publish(create(IngressInput.RTMP_INPUT, false).streamKey), { ok: false, code: 'NetStream.Publish.BadName', description: 'the ingress is disabled' });
  assert.deepEqual(publish(a.streamKey), { ok: true });
  assert.equal(rtmp.liveCount, 1);
  assert.deepEqual(publish(a.streamKey), { ok: false, code: 'NetStream.Publish.BadName', description: 'the ingress already has a live publisher' });
  // The node limit: two live streams (registry-side) and a third is refused.
  const [b, c, d] = [create(), create(), create()];
  registry.startStream(b.ingressId, { resourceId: 'WH_b', roomId: 'RM' });
  registry.attachStream(b.ingressId, { stop: () => {} });
  registry.startStream(c.ingressId, { resourceId: 'WH_c', roomId: 'RM' });
  registry.attachStream(c.ingressId, { stop: () => {} });
  const refused = publish(d.streamKey);
  assert.equal(refused.ok, false);
  assert.match((refused as { description: string }).description, /max_active_streams: 2/);
  // The accepted stream's start fails (no session here): the ingress shows ERROR, the publisher is let go, the key is free.
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(opened, [a.ingressId]);
  assert.equal(rtmp.liveCount, 0);
  assert.equal(registry.state(a.ingressId)?.status, S.ENDPOINT_ERROR);
  assert.match(registry.state(a.ingressId)?.error ?? '', /no media in this test/);
  assert.equal(closed.length, 1);
});
