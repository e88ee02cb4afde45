// ICE candidate attribute parsing/formatting (RFC 8839 section 5.1, https://www.rfc-editor.org/rfc/rfc8839)
// and candidate priorities (RFC 8445 section 5.1.2.1); TCP candidates (`tcptype`, RFC 6544 section 4.5,
// https://www.rfc-editor.org/rfc/rfc6544).
import { isIP } from 'node:net';

export interface IceCandidate {
  foundation: string;
  component: number;
  /** Lowercased: 'udp' or 'tcp'. */
  transport: string;
  priority: number;
  /** An IP literal or (for mDNS candidates) a hostname. */
  address: string;
  port: number;
  /** 'host' | 'srflx' | 'prflx' | 'relay' (kept as written). */
  type: string;
  relatedAddress?: string;
  relatedPort?: number;
  /** TCP candidates (RFC 6544): 'active' | 'passive' | 'so' (kept as written). */
  tcpType?: string;
}

/**
 * RFC 6544 section 4.2: a TCP candidate's local preference is 2^13 * direction-pref + other-pref, with direction-pref
 * 6 for active, 4 for passive and 2 for simultaneous-open (host and relayed candidates).
 */
export function tcpLocalPreference(tcpType: 'active' | 'passive' | 'so', otherPref: number): number {
  const direction = tcpType === 'active' ? 6 : tcpType === 'passive' ? 4 : 2;
  return direction * 2 ** 13 + (otherPref & 0x1fff);
}

/** Type preferences recommended by RFC 8445 5.1.2.2. */
export const IceTypePreference = { host: 126, prflx: 110, srflx: 100, relay: 0 } as const;

export function candidatePriority(typePreference: number, localPreference: number, componentId: number): number {
  return (typePreference & 0xff) * 2 ** 24 + (localPreference & 0xffff) * 2 ** 8 + (256 - componentId);
}

/**
 * Parses 'candidate:...', 'a=candidate:...' or the bare value. Returns undefined for anything
 * malformed. Never throws.
 */
export function parseIceCandidate(text: string): IceCandidate | undefined {
  let s = text.trim();
  if (s.startsWith('a=')) s = s.slice(2);
  if (s.startsWith('candidate:')) s = s.slice('candidate:'.length);
  const t = s.split(/\s+/);
  if (t.length < 8 || t[6] !== 'typ') return undefined;
  const component = Number(t[1]);
  const priority = Number(t[3]);
  const port = Number(t[5]);
  if (!Number.isInteger(component) || component < 1 || component > 256) return undefined;
  if (!Number.isInteger(priority) || priority < 0 || priority > 0xffffffff) return undefined;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) return undefined;
  const c: IceCandidate = {
    foundation: t[0]!,
    component,
    transport: t[2]!.toLowerCase(),
    priority,
    address: t[4]!,
    port,
    type: t[7]!,
  };
  for (let i = 8; i + 1 < t.length; i += 2) {
    if (t[i] === 'raddr') c.relatedAddress = t[i + 1];
    else if (t[i] === 'rport') c.relatedPort = Number(t[i + 1]);
    else if (t[i] === 'tcptype') c.tcpType = t[i + 1];
  }
  return c;
}

/** Formats as 'candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>'. */
export function formatIceCandidate(c: IceCandidate): string {
  let s = `candidate:${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined && c.relatedPort !== undefined) {
    s += ` raddr ${c.relatedAddress} rport ${c.relatedPort}`;
  }
  if (c.tcpType !== undefined) s += ` tcptype ${c.tcpType}`;
  return s;
}

/** True for a UDP, component-1, host or server-reflexive candidate with an IP literal address. */
export function isUsableUdpCandidate(c: IceCandidate): boolean {
  return (
    c.transport === 'udp' &&
    c.component === 1 &&
    (c.type === 'host' || c.type === 'srflx' || c.type === 'prflx') &&
    isIP(c.address) !== 0 &&
    c.port > 0
  );
}
