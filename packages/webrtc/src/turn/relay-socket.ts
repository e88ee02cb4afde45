// The relayed transport address of an allocation (RFC 8656 section 2.2): a UDP socket bound on the relay address,
// on a port from the configured range. Behind an interface so the TURN core's tests can run without sockets.
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { raiseBuffer } from '../udp-mux.js';

export interface RelaySocket {
  /** The relayed address given to the client (XOR-RELAYED-ADDRESS). */
  readonly address: string;
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): void;
  close(): void;
}

export type RelayReceive = (data: Buffer, address: string, port: number) => void;

export interface RelaySocketFactory {
  /** A socket bound on a free port, or undefined when none is free (the client then gets 508). */
  open(onReceive: RelayReceive): Promise<RelaySocket | undefined>;
}

export interface UdpRelaySocketFactoryOptions {
  /** Local address the sockets bind. */
  bindAddress: string;
  /** Address reported to clients (the address peers see; rtc.node_ip). Defaults to bindAddress. */
  relayAddress?: string;
  /** Inclusive port range; 0/0 = ephemeral ports chosen by the system. */
  portMin: number;
  portMax: number;
}

/** Binds relay sockets on ports of a range, trying each free port once, in turn, from a rotating start. */
export class UdpRelaySocketFactory implements RelaySocketFactory {
  private readonly opts: UdpRelaySocketFactoryOptions;
  private readonly inUse = new Set<number>();
  private next: number;

  constructor(opts: UdpRelaySocketFactoryOptions) {
    if (opts.portMin > opts.portMax) throw new Error(`relay port range ${opts.portMin}-${opts.portMax} is empty`);
    this.opts = opts;
    this.next = opts.portMin;
  }

  get openSockets(): number {
    return this.inUse.size;
  }

  async open(onReceive: RelayReceive): Promise<RelaySocket | undefined> {
    const { portMin, portMax } = this.opts;
    if (portMin === 0 && portMax === 0) return this.bind(0, onReceive);
    const count = portMax - portMin + 1;
    for (let i = 0; i < count; i++) {
      const port = portMin + ((this.next - portMin + i) % count);
      if (this.inUse.has(port)) continue;
      const s = await this.bind(port, onReceive);
      if (s !== undefined) {
        this.next = port + 1 > portMax ? portMin : port + 1;
        return s;
      }
    }
    return undefined;
  }

  private bind(port: number, onReceive: RelayReceive): Promise<RelaySocket | undefined> {
    const { bindAddress } = this.opts;
    const relayAddress = this.opts.relayAddress ?? bindAddress;
    return new Promise((resolve) => {
      const socket: Socket = createSocket({ type: isIPv6(bindAddress) ? 'udp6' : 'udp4' });
      const fail = (): void => {
        socket.close();
        resolve(undefined);
      };
      socket.once('error', fail);
      socket.bind(port, bindAddress, () => {
        socket.off('error', fail);
        const bound = socket.address().port;
        // One allocation carries one PeerConnection's media: a video burst must not overflow the default buffer.
        raiseBuffer(socket, 'recv', 2 * 1024 * 1024);
        this.inUse.add(bound);
        let closed = false;
        // A send error (ICMP unreachable reported on the socket) must not take the process down.
        socket.on('error', () => {});
        socket.on('message', (msg, rinfo) => onReceive(msg, rinfo.address, rinfo.port));
        resolve({
          address: relayAddress,
          port: bound,
          send: (data, toPort, toAddress) => {
            if (!closed) socket.send(data, toPort, toAddress);
          },
          close: () => {
            if (closed) return;
            closed = true;
            this.inUse.delete(bound);
            socket.close();
          },
        });
      });
    });
  }
}
