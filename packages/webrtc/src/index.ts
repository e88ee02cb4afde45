// @atrium/webrtc: a standards-only WebRTC stack. Each module is exported from its own path too
// (e.g. '@atrium/webrtc/pc/peer-connection.js').
export * from './logger.js';
export * from './clock.js';
export * from './typed-emitter.js';
export * from './udp-mux.js';
export * from './tcp/tcp-mux.js';
export * from './tcp/rfc4571-framer.js';
export * from './rtp/index.js';
export * from './sdp/index.js';
export * from './cc/index.js';
