// Test helper: a raw `ws` signalling client that records every SignalResponse and waits for conditions.
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { DisconnectReason, LeaveRequest_Action, ParticipantInfo_State, SignalRequest, SignalResponse } from '@livekit/protocol';
import type { LeaveRequest, ParticipantInfo } from '@livekit/protocol';
import { createAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import type { ServerConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';

export type Msg = SignalResponse['message'];

/** A message predicate: a ParticipantUpdate listing `identity` (and meeting `pred`). */
export const isUpdate = (identity: string, pred: (p: ParticipantInfo) => boolean = () => true) => (m: Msg): boolean =>
  m.case === 'update' && m.value.participants.some((p) => p.identity === identity && pred(p));
/** A ParticipantUpdate saying `identity` left. */
export const isGone = (identity: string) => isUpdate(identity, (p) => p.state === ParticipantInfo_State.DISCONNECTED);

/** The signal tests' server: real WebSockets, the fake media seam, a manual clock; `clients` are closed with it. */
export interface FakeSignalServer {
  server: AtriumServer;
  fake: FakeMediaFactory;
  clock: ManualClock;
  clients: TestSignalClient[];
  close(): Promise<void>;
}

export async function startFakeSignalServer(rtc: Partial<ServerConfig['rtc']> = {}): Promise<FakeSignalServer> {
  const fake = new FakeMediaFactory();
  const clock = new ManualClock();
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0, ...rtc } }), { mediaFactory: fake, clock, logger: silentLogger });
  const clients: TestSignalClient[] = [];
  return {
    server, fake, clock, clients,
    close: async () => {
      for (const c of clients) c.close();
      await server.close();
    },
  };
}

export async function devToken(identity: string, video: VideoGrant = { roomJoin: true, room: 'test' }, name?: string): Promise<string> {
  return createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity, video, ...(name ? { name } : {}) });
}

export class TestSignalClient {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  closed = false;
  closeCode: number | undefined;
  private waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      this.messages.push(SignalResponse.fromBinary(new Uint8Array(data)).message);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static async connect(baseUrl: string, token: string, query = ''): Promise<TestSignalClient> {
    const ws = new WebSocket(`${baseUrl}/rtc?access_token=${encodeURIComponent(token)}&protocol=17&sdk=js&version=2.23.0${query}`);
    const client = new TestSignalClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade rejected: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  /** Connects and waits for the JoinResponse. */
  static async join(baseUrl: string, identity: string, query = '', video?: VideoGrant): Promise<TestSignalClient> {
    const c = await TestSignalClient.connect(baseUrl, await devToken(identity, video), query);
    await c.waitFor((m) => m.case === 'join');
    return c;
  }

  send(message: SignalRequest['message']): void {
    this.ws.send(new SignalRequest({ message }).toBinary());
  }

  /** Resolves with the first recorded message (from index `from`) that matches; rejects after `timeoutMs`. */
  async waitFor<C extends Msg['case']>(
    pred: (m: Msg) => boolean,
    opts: { from?: number; timeoutMs?: number; case?: C } = {},
  ): Promise<Msg> {
    const deadline = Date.now() + (opts.timeoutMs ?? 3000);
    for (;;) {
      const found = this.messages.slice(opts.from ?? 0).find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; got: ${this.messages.map((m) => m.case).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the socket to close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Asserts what a refused resume (or any `reconnect=1` the server cannot honour) gets: the socket closed after exactly one
 * message, LeaveRequest RECONNECT / STATE_MISMATCH that allows a reconnect (the client then joins anew).
 */
export async function expectFullReconnect(c: TestSignalClient): Promise<void> {
  await c.waitClosed();
  assert.equal(c.messages.length, 1, 'the leave is the first and only message');
  const first = c.messages[0]!;
  assert.equal(first.case, 'leave');
  const leave = first.value as LeaveRequest;
  assert.equal(leave.action, LeaveRequest_Action.RECONNECT);
  assert.equal(leave.reason, DisconnectReason.STATE_MISMATCH);
  assert.equal(leave.canReconnect, true);
}
