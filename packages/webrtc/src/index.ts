// @atrium/webrtc: a standards-only WebRTC stack. Each module is exported from its own path too.
export * from './logger.js';
export * from './clock.js';
export * from './typed-emitter.js';
