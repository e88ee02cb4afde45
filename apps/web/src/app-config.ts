// What the server tells the app about itself (GET /app/config.json, served by packages/server/src/web/web-app.ts).
export interface AppConfig {
  /** The dev token endpoint (/app/token) and the operator view's dev admin tokens are on (--dev or web.dev_tokens). */
  devTokens: boolean;
  /** web.token_endpoint: where the app asks for a token in production; '' = none. */
  tokenEndpoint: string;
}

export async function loadAppConfig(): Promise<AppConfig> {
  try {
    const res = await fetch('/app/config.json', { cache: 'no-store' });
    if (!res.ok) return { devTokens: false, tokenEndpoint: '' };
    const body = (await res.json()) as Partial<AppConfig>;
    return { devTokens: body.devTokens === true, tokenEndpoint: typeof body.tokenEndpoint === 'string' ? body.tokenEndpoint : '' };
  } catch {
    return { devTokens: false, tokenEndpoint: '' };
  }
}

/** The endpoint the lobby asks for tokens: the configured one, else the dev one, else none. */
export function tokenEndpointOf(config: AppConfig): string | undefined {
  if (config.tokenEndpoint !== '') return config.tokenEndpoint;
  return config.devTokens ? '/app/token' : undefined;
}
