// SignalResponse.refresh_token (docs/livekit-protocol.md 5, 6): a new token with the participant's current
// claims, signed with the API key of the token it joined with. Sent after join, every 5 min, and when its name,
// metadata, attributes or permission change (LiveKit's roommanager.go refreshToken / tokenRefreshInterval).
import { SignalResponse } from '@livekit/protocol';
import { createAccessToken } from '@atrium/protocol';
import type { ClaimGrants, ResolvedVideoGrant, VideoGrant } from '@atrium/protocol';
import type { Clock, TimerHandle } from '@atrium/webrtc';
import type { Participant } from '../rtc/participant.js';

/** LiveKit's tokenRefreshInterval. */
export const TOKEN_REFRESH_INTERVAL_MS = 5 * 60_000;
/** LiveKit's tokenDefaultTTL: a refreshed token lasts this long, or as long as the original had left if longer. */
export const REFRESH_TOKEN_MIN_TTL_SEC = 10 * 60;

const SOURCE_NAMES = ['unknown', 'camera', 'microphone', 'screen_share', 'screen_share_audio'] as const;

/** The token's `video` claim with the fields a permission change can alter replaced by the current grant. */
export function currentVideoGrant(original: VideoGrant | undefined, grant: ResolvedVideoGrant): VideoGrant {
  return {
    ...original,
    canPublish: grant.canPublish,
    canSubscribe: grant.canSubscribe,
    canPublishData: grant.canPublishData,
    canPublishSources: grant.canPublishSources.map((n) => SOURCE_NAMES[n] ?? 'unknown'),
    canUpdateOwnMetadata: grant.canUpdateOwnMetadata,
    canSubscribeMetrics: grant.canSubscribeMetrics,
  };
}

export interface RefreshTokenInput {
  /** Claims of the token the participant joined with. */
  claims: ClaimGrants;
  apiSecret: string;
  /** Current values (they may have changed since the join). */
  name: string;
  metadata: string;
  attributes: Readonly<Record<string, string>>;
  grant: ResolvedVideoGrant;
  nowSec: number;
}

/** Signs the refreshed token: same key, identity, kind and room config; current name, metadata, attributes, grant. */
export function mintRefreshToken(input: RefreshTokenInput): Promise<string> {
  const { claims } = input;
  const remainingSec = claims.exp !== undefined ? claims.exp - input.nowSec : 0;
  return createAccessToken({
    apiKey: claims.apiKey,
    apiSecret: input.apiSecret,
    identity: claims.identity,
    name: input.name,
    metadata: input.metadata,
    attributes: { ...input.attributes },
    ...(claims.kind !== undefined ? { kind: claims.kind } : {}),
    ...(claims.kindDetails !== undefined ? { kindDetails: claims.kindDetails } : {}),
    video: currentVideoGrant(claims.video, input.grant),
    ...(claims.roomConfig !== undefined ? { roomConfig: claims.roomConfig } : {}),
    ...(claims.roomPreset !== undefined ? { roomPreset: claims.roomPreset } : {}),
    ttlSec: Math.max(REFRESH_TOKEN_MIN_TTL_SEC, remainingSec),
    nowSec: input.nowSec,
  });
}

export interface TokenRefresherOptions {
  participant: Participant;
  claims: ClaimGrants;
  apiSecret: string;
  clock: Clock;
  intervalMs?: number;
}

/** Sends refresh tokens to one participant until it closes. */
export class TokenRefresher {
  private readonly opts: TokenRefresherOptions;
  private timer: TimerHandle | undefined;
  /** A refresh is being signed; `again` asks for one more after it (claims changed meanwhile). */
  private signing = false;
  private again = false;
  /** The running refresh has not read the claims yet: a new call is covered by it. */
  private claimsPending = false;

  constructor(opts: TokenRefresherOptions) {
    this.opts = opts;
  }

  /** Sends the first token now, then one every interval; claim changes send one at once. */
  start(): void {
    const p = this.opts.participant;
    p.onClaimsChanged = () => this.refreshNow();
    this.timer = this.opts.clock.setInterval(() => this.refreshNow(), this.opts.intervalMs ?? TOKEN_REFRESH_INTERVAL_MS);
    this.refreshNow();
  }

  stop(): void {
    if (this.timer !== undefined) this.opts.clock.clearInterval(this.timer);
    this.timer = undefined;
    if (this.opts.participant.onClaimsChanged) this.opts.participant.onClaimsChanged = undefined;
  }

  /** Signs and sends a token with the current claims; calls made while one is being signed coalesce into one more. */
  refreshNow(): void {
    const p = this.opts.participant;
    if (p.isClosed) {
      this.stop();
      return;
    }
    if (this.signing) {
      if (!this.claimsPending) this.again = true;
      return;
    }
    this.signing = true;
    this.claimsPending = true;
    // Read the claims a tick later, so changes made together (UpdateParticipant: permission, then name/metadata)
    // go out in one token.
    Promise.resolve()
      .then(() => {
        this.claimsPending = false;
        const info = p.snapshot();
        return mintRefreshToken({
          claims: this.opts.claims,
          apiSecret: this.opts.apiSecret,
          name: info.name,
          metadata: info.metadata,
          attributes: info.attributes,
          grant: p.grant,
          nowSec: Math.floor(this.opts.clock.wallMs() / 1000),
        });
      })
      .then((token) => {
        if (!p.isClosed) p.send(new SignalResponse({ message: { case: 'refreshToken', value: token } }));
      })
      .catch((err: unknown) => p.logger.error({ err }, 'could not sign a refresh token'))
      .finally(() => {
        this.signing = false;
        if (this.again) {
          this.again = false;
          this.refreshNow();
        }
      });
  }
}
