// @atrium/server: the SFU server. createServer is the entry point; the rest is exported for tests and tools.
export { createServer } from './create-server.js';
export type { AtriumServer, ServerOverrides } from './create-server.js';
export { devConfig } from './config/server-config.js';
export type { ServerConfig, ServerConfigOverrides } from './config/server-config.js';
export { createLogger } from './logger.js';
export type { MediaFactory, ParticipantMedia } from './rtc/participant-media.js';
