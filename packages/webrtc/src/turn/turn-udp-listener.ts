// TURN over UDP (RFC 8656 section 4): one socket; each datagram is one STUN or ChannelData message, and the client's
// address and port with this socket's port make the 5-tuple that names its allocation.
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { raiseBuffer } from '../udp-mux.js';
import type { TurnClientPath } from './turn-allocation.js';
import type { TurnServer } from './turn-server.js';

export class TurnUdpListener {
  private readonly socket: Socket;
  private readonly server: TurnServer;
  private readonly paths = new Map<string, TurnClientPath>();
  private boundPort = 0;

  private constructor(socket: Socket, server: TurnServer) {
    this.socket = socket;
    this.server = server;
  }

  /** Binds `port` (0 = ephemeral) on `address` and feeds every datagram to `server`. */
  static async listen(server: TurnServer, opts: { address: string; port: number }): Promise<TurnUdpListener> {
    const socket = createSocket({ type: isIPv6(opts.address) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Every relayed client packet passes this one socket: the default ~208 KB overflows under bursts (environment.md).
    raiseBuffer(socket, 'recv', 8 * 1024 * 1024);
    raiseBuffer(socket, 'send', 8 * 1024 * 1024);
    const listener = new TurnUdpListener(socket, server);
    listener.boundPort = socket.address().port;
    socket.on('error', () => {}); // ICMP errors reported on send must not end the process
    socket.on('message', (msg, rinfo) => server.handleClientMessage(msg, listener.pathFor(rinfo.address, rinfo.port)));
    return listener;
  }

  get port(): number {
    return this.boundPort;
  }

  /** A path object per client address, kept only while the server holds an allocation for it (bounded). */
  private pathFor(address: string, port: number): TurnClientPath {
    const key = `udp|${address}|${port}|${this.boundPort}`;
    let path = this.paths.get(key);
    if (path === undefined) {
      path = {
        key, transport: 'udp', remoteAddress: address, remotePort: port, isStream: false,
        send: (message) => this.socket.send(message, port, address),
      };
      if (this.paths.size > 4096) this.prune();
      this.paths.set(key, path);
    }
    return path;
  }

  private prune(): void {
    for (const key of this.paths.keys()) if (this.server.allocationOf(key) === undefined) this.paths.delete(key);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
