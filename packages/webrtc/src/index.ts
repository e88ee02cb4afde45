// @atrium/webrtc: a standards-only WebRTC stack. Each module is exported from its own path too.
export * from './logger.js';
export * from './clock.js';
export * from './typed-emitter.js';
export * from './udp-mux.js';
export * from './rtp/index.js';
export * from './sdp/index.js';
export * from './pc/peer-connection.js';
export * from './pc/local-sender.js';
export * from './pc/remote-stream.js';
export type { DataChannel } from './sctp/sctp-transport.js';
