// A participant's signalling connection as livekit-client opens it: a WebSocket to `<url>/rtc` with the access token
// and protocol version in the query, protobuf SignalRequest / SignalResponse frames, pings at the interval the
// JoinResponse asks for. Used by the load tester and the media churn benchmark; nothing here is Atrium-specific.
import { WebSocket } from 'ws';
import { JoinResponse, SignalRequest, SignalResponse } from '@livekit/protocol';

export type SignalMessage = SignalResponse['message'];

/** The protocol version we speak (livekit-client 2.x sends 15 or 16; 17 adds nothing we rely on). */
export const SIGNAL_PROTOCOL_VERSION = 16;

/** `http(s)://host` or `ws(s)://host` -> `ws(s)://host/rtc?...` */
export function signalUrl(baseUrl: string, token: string, opts: { autoSubscribe: boolean }): string {
  const ws = baseUrl.replace(/^http(s?):\/\//i, 'ws$1://').replace(/\/+$/, '');
  const q = new URLSearchParams({
    access_token: token, auto_subscribe: opts.autoSubscribe ? '1' : '0', sdk: 'js', version: '2.15.0',
    protocol: String(SIGNAL_PROTOCOL_VERSION), adaptive_stream: '0',
  });
  return `${ws}/rtc?${q.toString()}`;
}

export class SignalConnection {
  readonly ws: WebSocket;
  readonly join: JoinResponse;
  private handler: ((msg: SignalMessage) => void) | undefined;
  /** Messages that came before `listen`: the first subscriber offer can follow the JoinResponse at once. */
  private readonly held: SignalMessage[] = [];
  onClose: (code: number) => void = () => {};
  isClosed = false;
  /** Resolves with the close code once the WebSocket has closed. */
  readonly closed: Promise<number>;
  private pingTimer: NodeJS.Timeout | undefined;

  private constructor(ws: WebSocket, join: JoinResponse) {
    this.ws = ws;
    this.join = join;
    ws.on('message', (data: Buffer) => this.deliver(SignalResponse.fromBinary(new Uint8Array(data)).message));
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.isClosed = true;
        if (this.pingTimer) clearInterval(this.pingTimer);
        this.onClose(code);
        resolve(code);
      }),
    );
    const intervalSec = join.pingInterval > 0 ? join.pingInterval : 5;
    this.pingTimer = setInterval(() => this.send({ case: 'ping', value: BigInt(Date.now()) }), intervalSec * 1000);
    this.pingTimer.unref();
  }

  /** Every message after the JoinResponse goes to `handler`, in order, starting with those held until now. */
  listen(handler: (msg: SignalMessage) => void): void {
    this.handler = handler;
    for (const m of this.held.splice(0)) this.deliver(m);
  }

  private deliver(msg: SignalMessage): void {
    if (msg.case === 'pong' || msg.case === 'pongResp') return;
    const handler = this.handler;
    if (handler === undefined) {
      this.held.push(msg);
      return;
    }
    try {
      handler(msg);
    } catch {
      // a handler's failure shows up as missing media in the results, not as a crash of every participant
    }
  }

  /** Opens the WebSocket and waits for the JoinResponse (rejects on an HTTP error, a leave, a close or the timeout). */
  static async connect(url: string, opts: { timeoutMs: number }): Promise<SignalConnection> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    return new Promise<SignalConnection>((resolve, reject) => {
      let join: JoinResponse | undefined;
      const fail = (why: string): void => {
        clearTimeout(timer);
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(new Error(why));
      };
      const timer = setTimeout(() => fail(`no JoinResponse within ${opts.timeoutMs} ms`), opts.timeoutMs);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => fail(`signalling rejected: HTTP ${res.statusCode}${body ? ` ${body.trim().slice(0, 200)}` : ''}`));
      });
      ws.on('error', (err) => fail(`signalling failed: ${err.message}`));
      ws.on('close', (code) => fail(`signalling closed (${code}) before the JoinResponse`));
      const onFirst = (data: Buffer): void => {
        const msg = SignalResponse.fromBinary(new Uint8Array(data)).message;
        if (join === undefined) {
          if (msg.case === 'join') {
            join = msg.value;
            // hand over in the same turn, so no later frame is missed
            clearTimeout(timer);
            ws.removeAllListeners();
            ws.on('error', () => {});
            resolve(new SignalConnection(ws, join));
          } else if (msg.case === 'leave') {
            fail(`the server refused the join (leave, reason ${msg.value.reason})`);
          }
          return;
        }
      };
      ws.on('message', onFirst);
    });
  }

  send(message: SignalRequest['message']): void {
    if (this.isClosed || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(new SignalRequest({ message }).toBinary());
  }

  close(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.isClosed = true;
    this.ws.close();
  }
}
