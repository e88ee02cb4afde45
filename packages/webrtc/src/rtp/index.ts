// RTP/RTCP wire formats: zero-copy RTP header parsing and rewriting, RTCP compound packets, seq unwrapping.
export * from './rtp-header.js';
export * from './header-extensions.js';
export * from './rtp-packet.js';
export * from './seq.js';
export * from './rtcp.js';
