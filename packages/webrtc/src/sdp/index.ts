// SDP: our session description model, text parse/write, and offer/answer negotiation.
export * from './sdp-model.js';
export * from './negotiation.js';
