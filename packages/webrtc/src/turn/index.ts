// Embedded TURN server (RFC 8656 over RFC 8489's STUN): the protocol core, its UDP and TCP/TLS listeners, relay
// sockets, and TURN-REST-style time-limited credentials.
export * from './channel-data.js';
export * from './turn-stream-framer.js';
export * from './turn-errors.js';
export * from './turn-attributes.js';
export * from './turn-nonce.js';
export * from './turn-auth.js';
export * from './turn-rest-credentials.js';
export * from './turn-allocation.js';
export * from './relay-socket.js';
export * from './turn-server.js';
export * from './turn-udp-listener.js';
export * from './turn-stream-listener.js';
