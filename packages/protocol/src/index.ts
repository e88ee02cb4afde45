// @atrium/protocol: LiveKit wire helpers shared by server, sdk and cli (ids, grants, tokens).
export * from './ids.js';
export * from './grants.js';
export * from './token.js';
