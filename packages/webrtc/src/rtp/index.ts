// RTP/RTCP wire formats: zero-copy RTP header parsing and rewriting, RTCP compound packets, seq unwrapping,
// the AV1 Dependency Descriptor header extension.
export * from './rtp-header.js';
export * from './header-extensions.js';
export * from './dependency-descriptor.js';
export * from './dependency-descriptor-writer.js';
export * from './rtp-packet.js';
export * from './seq.js';
export * from './rtcp.js';
