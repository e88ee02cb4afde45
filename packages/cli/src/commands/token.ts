// `atrium token create`: signs an access token with livekit-server-sdk's AccessToken and prints it
// (the JWT alone, so `TOKEN=$(atrium token create ...)` works; --json for the details).
import { AccessToken, trackSourceToString } from 'livekit-server-sdk';
import type { Command } from '../command.js';
import { boolFlag } from '../args.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveCredentials, resolveUrl } from '../connection.js';
import { formatJson } from '../format.js';
import { buildTokenRequest, TOKEN_FLAG_HELP, TOKEN_OPTIONS } from '../token-request.js';
import type { TokenRequest } from '../token-request.js';

/** Signs `request` with the given key pair; returns the JWT. */
export async function signToken(request: TokenRequest, apiKey: string, apiSecret: string): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, {
    ttl: request.ttlSec,
    ...(request.identity !== undefined ? { identity: request.identity } : {}),
    ...(request.name !== undefined ? { name: request.name } : {}),
    ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
    ...(request.attributes !== undefined ? { attributes: request.attributes } : {}),
  });
  token.addGrant(request.grant);
  if (request.roomConfig !== undefined) token.roomConfig = request.roomConfig;
  return token.toJwt();
}

/** The `exp` claim of a JWT (seconds since the epoch), read without verifying. */
export function jwtExpirySec(jwt: string): number | undefined {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

export const tokenCreate: Command = {
  path: ['token', 'create'],
  summary: 'create an access token for joining or administering rooms',
  synopsis: '--room NAME --identity ID [--name N] [--metadata M] [--ttl 1h] [grant flags] [--agent NAME [--job-metadata M]] [--json]',
  flagHelp: [...TOKEN_FLAG_HELP, ['--json', 'print {token, identity, room, url, expiresAt, grant, roomConfig} as JSON'], ...CONNECTION_HELP],
  options: { ...TOKEN_OPTIONS, ...CONNECTION_OPTIONS, json: { type: 'boolean' } },
  async run({ values }, io) {
    const request = buildTokenRequest(values);
    const { apiKey, apiSecret } = resolveCredentials(values, io.env);
    const token = await signToken(request, apiKey, apiSecret);
    if (!boolFlag(values, 'json')) {
      io.stdout(`${token}\n`);
      return;
    }
    const exp = jwtExpirySec(token);
    const url = resolveUrl(values, io.env);
    io.stdout(
      formatJson({
        token,
        identity: request.identity ?? null,
        name: request.name ?? null,
        room: request.grant.room ?? null,
        url: url === undefined ? null : url.replace(/^http/, 'ws'),
        apiKey,
        expiresAt: exp === undefined ? null : new Date(exp * 1000).toISOString(),
        grant: {
          ...request.grant,
          ...(request.grant.canPublishSources !== undefined ? { canPublishSources: request.grant.canPublishSources.map(trackSourceToString) } : {}),
        },
        roomConfig: request.roomConfig?.toJson() ?? null,
      }),
    );
  },
};

export const TOKEN_COMMANDS: readonly Command[] = [tokenCreate];
