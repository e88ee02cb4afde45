// Atrium's `web:` section (docs/web-app.md): the meeting app served at /app/ (`enabled`), the development token
// endpoints (`dev_tokens`, default on only with --dev / development: true), the token endpoint the app asks in
// production (`token_endpoint`) and where the built app is (`dir`, default apps/web/dist of this checkout).
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const WEB_KEYS = ['enabled', 'dev_tokens', 'token_endpoint', 'dir'] as const;

export interface WebSection {
  enabled: boolean | undefined;
  devTokens: boolean | undefined;
  tokenEndpoint: string | undefined;
  dir: string | undefined;
}

export function readWeb(r: YamlReader, top: YamlMap): WebSection {
  const m = r.map(top['web'], 'web', WEB_KEYS);
  let tokenEndpoint = r.str(m, 'web', 'token_endpoint');
  // An absolute http(s) URL, or a path on this server ('/token'); never a scheme the page could be tricked into.
  if (tokenEndpoint !== undefined && tokenEndpoint !== '' && !/^(https?:\/\/[^/\s]+|\/(?!\/))\S*$/i.test(tokenEndpoint)) {
    r.fail('web.token_endpoint', `must be an http(s) URL or a path starting with /, got ${JSON.stringify(tokenEndpoint)}`);
    tokenEndpoint = undefined;
  }
  let dir = r.str(m, 'web', 'dir');
  if (dir === '') {
    r.fail('web.dir', 'is empty: leave it out for the built-in app');
    dir = undefined;
  }
  return { enabled: r.bool(m, 'web', 'enabled'), devTokens: r.bool(m, 'web', 'dev_tokens'), tokenEndpoint, dir };
}
