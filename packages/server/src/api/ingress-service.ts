// livekit.Ingress (livekit_ingress.proto) over Twirp, as livekit-server-sdk's IngressClient calls it: CreateIngress,
// UpdateIngress, ListIngress and DeleteIngress, each needing the ingressAdmin grant (LiveKit's EnsureIngressAdminPermission).
// The records and their streams are the IngressRegistry's (ingress/ingress-registry.ts).
import { CreateIngressRequest, DeleteIngressRequest, ListIngressRequest, ListIngressResponse, UpdateIngressRequest } from '@livekit/protocol';
import type { ClaimGrants } from '@atrium/protocol';
import type { IngressRegistry } from '../ingress/ingress-registry.js';
import { IngressError } from '../ingress/ingress-error.js';
import { TwirpError, method, permissionsDenied } from './twirp.js';
import type { TwirpService } from './twirp.js';

export const INGRESS_SERVICE_NAME = 'livekit.Ingress';

function requireIngressAdmin(claims: ClaimGrants | undefined): void {
  if (!claims?.video?.ingressAdmin) throw permissionsDenied();
}

/** Runs `fn`, turning the ingress layer's coded errors into Twirp errors of the same code. */
function twirp<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof IngressError) throw new TwirpError(err.code, err.message);
    throw err;
  }
}

export function createIngressService(opts: { ingresses: IngressRegistry }): TwirpService {
  const { ingresses } = opts;
  return {
    CreateIngress: method(CreateIngressRequest, (req, claims) => {
      requireIngressAdmin(claims);
      return twirp(() => ingresses.create(req));
    }),
    UpdateIngress: method(UpdateIngressRequest, (req, claims) => {
      requireIngressAdmin(claims);
      return twirp(() => ingresses.update(req));
    }),
    ListIngress: method(ListIngressRequest, (req, claims) => {
      requireIngressAdmin(claims);
      return new ListIngressResponse({ items: ingresses.list({ roomName: req.roomName, ingressId: req.ingressId }) });
    }),
    DeleteIngress: method(DeleteIngressRequest, (req, claims) => {
      requireIngressAdmin(claims);
      return twirp(() => ingresses.delete(req.ingressId));
    }),
  };
}
