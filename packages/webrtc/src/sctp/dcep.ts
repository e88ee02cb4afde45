// Data Channel Establishment Protocol messages (RFC 8832 §5) and WebRTC data channel PPIDs (RFC 8831 §8).
// https://www.rfc-editor.org/rfc/rfc8832#section-5

export const Ppid = {
  DCEP: 50,
  STRING: 51,
  /** Deprecated partial-message PPIDs (RFC 8831 §8): counted and dropped. */
  STRING_PARTIAL: 52,
  BINARY: 53,
  BINARY_PARTIAL: 54,
  STRING_EMPTY: 56,
  BINARY_EMPTY: 57,
} as const;

export const DcepMessageType = { ACK: 0x02, OPEN: 0x03 } as const;

export const ChannelType = {
  RELIABLE: 0x00,
  RELIABLE_UNORDERED: 0x80,
  PARTIAL_RELIABLE_REXMIT: 0x01,
  PARTIAL_RELIABLE_REXMIT_UNORDERED: 0x81,
  PARTIAL_RELIABLE_TIMED: 0x02,
  PARTIAL_RELIABLE_TIMED_UNORDERED: 0x82,
} as const;

export interface DataChannelParams {
  label: string;
  protocol: string;
  ordered: boolean;
  maxRetransmits?: number;
  maxPacketLifeTime?: number;
  priority: number;
}

const openHeaderLength = 12;

/** DATA_CHANNEL_OPEN: type, channel type, priority, reliability parameter, label and protocol lengths. */
export function encodeOpen(p: DataChannelParams): Buffer {
  const label = Buffer.from(p.label, 'utf8');
  const protocol = Buffer.from(p.protocol, 'utf8');
  let channelType: number = ChannelType.RELIABLE;
  let reliability = 0;
  if (p.maxRetransmits !== undefined) {
    channelType = ChannelType.PARTIAL_RELIABLE_REXMIT;
    reliability = p.maxRetransmits;
  } else if (p.maxPacketLifeTime !== undefined) {
    channelType = ChannelType.PARTIAL_RELIABLE_TIMED;
    reliability = p.maxPacketLifeTime;
  }
  if (!p.ordered) channelType |= 0x80;
  const out = Buffer.alloc(openHeaderLength + label.length + protocol.length);
  out[0] = DcepMessageType.OPEN;
  out[1] = channelType;
  out.writeUInt16BE(p.priority, 2);
  out.writeUInt32BE(reliability >>> 0, 4);
  out.writeUInt16BE(label.length, 8);
  out.writeUInt16BE(protocol.length, 10);
  label.copy(out, openHeaderLength);
  protocol.copy(out, openHeaderLength + label.length);
  return out;
}

/** Parses a DATA_CHANNEL_OPEN; undefined if malformed or of an unknown channel type. */
export function decodeOpen(buf: Buffer): DataChannelParams | undefined {
  if (buf.length < openHeaderLength || buf[0] !== DcepMessageType.OPEN) return undefined;
  const channelType = buf[1]!;
  const priority = buf.readUInt16BE(2);
  const reliability = buf.readUInt32BE(4);
  const labelLength = buf.readUInt16BE(8);
  const protocolLength = buf.readUInt16BE(10);
  if (buf.length < openHeaderLength + labelLength + protocolLength) return undefined;
  const label = buf.toString('utf8', openHeaderLength, openHeaderLength + labelLength);
  const protocol = buf.toString('utf8', openHeaderLength + labelLength, openHeaderLength + labelLength + protocolLength);
  const params: DataChannelParams = { label, protocol, ordered: (channelType & 0x80) === 0, priority };
  switch (channelType & 0x7f) {
    case ChannelType.RELIABLE:
      break;
    case ChannelType.PARTIAL_RELIABLE_REXMIT:
      params.maxRetransmits = reliability;
      break;
    case ChannelType.PARTIAL_RELIABLE_TIMED:
      params.maxPacketLifeTime = reliability;
      break;
    default:
      return undefined;
  }
  return params;
}

export const dcepAck: Buffer = Buffer.from([DcepMessageType.ACK]);
