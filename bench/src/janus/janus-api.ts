// A small client of Janus's HTTP API (the "Janus API" over plain HTTP, as janus.js speaks it): a session, handles
// attached to a plugin, plugin messages with or without JSEP, trickle, and one long poll per session that hands
// events to the handle they came from (`sender`). Request bodies are built by pure functions so they can be checked
// without a Janus. Only what the compare bench needs from the VideoRoom plugin is here.

export interface Jsep {
  type: 'offer' | 'answer';
  sdp: string;
  /** Order of the simulcast rids in the SDP: `lmh` (low first, as our client and livekit-client list them) or `hml`. */
  rid_order?: 'hml' | 'lmh';
}

/** A reply or an event of the Janus API (fields we read). */
export interface JanusMessage {
  janus: string;
  transaction?: string;
  session_id?: number;
  sender?: number;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: Jsep;
  [key: string]: unknown;
}

let transactionCounter = 0;
export function nextTransaction(): string {
  transactionCounter = (transactionCounter + 1) % 1e9;
  return `t${transactionCounter}`;
}

/** Body of a plugin message on a handle (`janus: message`), with a JSEP when given. */
export function messageBody(body: Record<string, unknown>, transaction: string, jsep?: Jsep): Record<string, unknown> {
  return jsep !== undefined ? { janus: 'message', transaction, body, jsep } : { janus: 'message', transaction, body };
}

/** Body of a trickle request: one candidate line, or the end of candidates. */
export function trickleBody(candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } | 'completed', transaction: string): Record<string, unknown> {
  return { janus: 'trickle', transaction, candidate: candidate === 'completed' ? { completed: true } : candidate };
}

/** VideoRoom `create`: a room for the bench, with room for `publishers` publishers, VP8 and Opus only. */
export function createRoomRequest(room: number, publishers: number): Record<string, unknown> {
  return {
    request: 'create', room, permanent: false, is_private: true, publishers,
    videocodec: 'vp8', audiocodec: 'opus',
    // no bitrate cap (0): REMB from Janus would otherwise ask our sources to slow down (they do not adapt anyway)
    bitrate: 0,
    // no periodic key frame requests from the server: sources send one every 2 s on their own (as for Atrium)
    fir_freq: 0,
    // the same header extensions Atrium negotiates with our client (audio level, transport-wide CC)
    audiolevel_ext: true, audiolevel_event: false, transport_wide_cc_ext: true,
    notify_joining: false,
  };
}

/** VideoRoom publisher join + publish in one request (`joinandconfigure`), with the client's offer as JSEP. */
export function publishRequest(room: number, display: string, opts: { audio: boolean; video: boolean }): Record<string, unknown> {
  const descriptions = [...(opts.audio ? [{ mid: '0', description: 'mic' }] : []), ...(opts.video ? [{ mid: opts.audio ? '1' : '0', description: 'cam' }] : [])];
  return { request: 'joinandconfigure', room, ptype: 'publisher', display, audio: opts.audio, video: opts.video, descriptions };
}

/**
 * VideoRoom subscriber join: one subscription handle for every feed (one PeerConnection, as Atrium's subscriber PC).
 * Simulcast feeds are asked for the highest substream and every temporal layer (what Atrium forwards to a
 * subscriber that sent no dimensions, as the load tester's subscribers do).
 */
export function subscribeRequest(room: number, feeds: readonly number[], privateId?: number): Record<string, unknown> {
  return {
    request: 'join', room, ptype: 'subscriber', use_msid: true,
    streams: feeds.map((feed) => ({ feed })),
    ...(privateId !== undefined ? { private_id: privateId } : {}),
  };
}

/** Simulcast target for every stream of a subscription: substream 2 (high), temporal layer 1 (both of our two). */
export function highestLayerRequest(mids: readonly string[]): Record<string, unknown> {
  return { request: 'configure', streams: mids.map((mid) => ({ mid, substream: 2, temporal: 1 })) };
}

export class JanusError extends Error {}

/** The plugin's reply data (`plugindata.data`), or a JanusError for an API or plugin error. */
export function pluginData(msg: JanusMessage): Record<string, unknown> {
  if (msg.janus === 'error') throw new JanusError(`janus error ${msg.error?.code}: ${msg.error?.reason}`);
  const data = msg.plugindata?.data;
  if (data === undefined) throw new JanusError(`janus: no plugin data in '${msg.janus}'`);
  if (typeof data.error === 'string') throw new JanusError(`videoroom error ${String(data.error_code)}: ${data.error}`);
  return data;
}

async function post(url: string, body: Record<string, unknown>): Promise<JanusMessage> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new JanusError(`janus http ${res.status} on ${url}`);
  return (await res.json()) as JanusMessage;
}

type Waiter = { match: (m: JanusMessage) => boolean; resolve: (m: JanusMessage) => void };

/** One Janus session and its long poll; handles are attached to it. */
export class JanusSession {
  readonly id: number;
  private readonly base: string;
  private readonly handles = new Map<number, JanusHandle>();
  private isClosed = false;
  private polling: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** Called with an error of the long poll (the session is then dead). */
  onError: (err: Error) => void = () => {};

  private constructor(base: string, id: number) {
    this.base = base;
    this.id = id;
  }

  /** Creates a session at `url` (http://host:port/janus) and starts its long poll. */
  static async create(url: string): Promise<JanusSession> {
    const r = await post(url, { janus: 'create', transaction: nextTransaction() });
    if (r.janus !== 'success' || r.data?.id === undefined) throw new JanusError(`janus create: ${r.error?.reason ?? r.janus}`);
    const s = new JanusSession(url, r.data.id);
    s.polling = s.poll();
    return s;
  }

  get url(): string {
    return `${this.base}/${this.id}`;
  }

  async attach(plugin: string): Promise<JanusHandle> {
    const r = await post(this.url, { janus: 'attach', plugin, transaction: nextTransaction() });
    if (r.janus !== 'success' || r.data?.id === undefined) throw new JanusError(`janus attach: ${r.error?.reason ?? r.janus}`);
    const h = new JanusHandle(this, r.data.id);
    this.handles.set(h.id, h);
    return h;
  }

  private async poll(): Promise<void> {
    while (!this.isClosed) {
      let events: JanusMessage[];
      try {
        const res = await fetch(`${this.url}?maxev=50&rid=${Date.now()}`, { signal: this.abort.signal });
        if (!res.ok) throw new JanusError(`janus long poll http ${res.status}`);
        const body = (await res.json()) as JanusMessage | JanusMessage[];
        events = Array.isArray(body) ? body : [body];
      } catch (err) {
        if (!this.isClosed) this.onError(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      for (const e of events) {
        if (e.janus === 'keepalive') continue;
        if (e.sender !== undefined) this.handles.get(e.sender)?.deliver(e);
      }
    }
  }

  /** Destroys the session on the server (its handles hang up) and ends the long poll. */
  async destroy(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await post(this.url, { janus: 'destroy', transaction: nextTransaction() }).catch(() => undefined);
    this.abort.abort(); // the pending long poll would otherwise wait up to 30 s for Janus to answer it
    await this.polling?.catch(() => undefined);
  }
}

/** A handle attached to a plugin: plugin messages, their asynchronous replies (events), trickle. */
export class JanusHandle {
  readonly id: number;
  private readonly session: JanusSession;
  private readonly waiters: Waiter[] = [];
  /** Events no waiter took (e.g. `webrtcup`, `media`, `hangup`). */
  onEvent: (m: JanusMessage) => void = () => {};

  constructor(session: JanusSession, id: number) {
    this.session = session;
    this.id = id;
  }

  private get url(): string {
    return `${this.session.url}/${this.id}`;
  }

  deliver(m: JanusMessage): void {
    const i = this.waiters.findIndex((w) => w.match(m));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(m);
    } else this.onEvent(m);
  }

  /** A plugin request answered synchronously (`success` with plugin data), e.g. VideoRoom `create`. */
  async request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return pluginData(await post(this.url, messageBody(body, nextTransaction())));
  }

  /**
   * A plugin request answered asynchronously (`ack`, then an `event` with the same transaction): resolves with the
   * event (plugin data and JSEP), or rejects after `timeoutMs`.
   */
  async send(body: Record<string, unknown>, jsep?: Jsep, timeoutMs = 15_000): Promise<JanusMessage> {
    const transaction = nextTransaction();
    let timer: NodeJS.Timeout | undefined;
    let waiter: Waiter | undefined;
    const event = new Promise<JanusMessage>((resolve, reject) => {
      waiter = { match: (m) => m.janus === 'event' && m.transaction === transaction, resolve };
      this.waiters.push(waiter);
      timer = setTimeout(() => reject(new JanusError(`janus: no event for ${String(body.request)} within ${timeoutMs} ms`)), timeoutMs);
    });
    event.catch(() => undefined); // rejected only when nobody awaits it any more (a synchronous reply or an error)
    try {
      const r = await post(this.url, messageBody(body, transaction, jsep));
      if (r.janus === 'event') return r; // answered at once
      if (r.janus !== 'ack') pluginData(r);
      const e = await event;
      pluginData(e);
      return e;
    } finally {
      clearTimeout(timer);
      const i = this.waiters.indexOf(waiter!);
      if (i >= 0) this.waiters.splice(i, 1);
    }
  }

  async trickle(candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } | 'completed'): Promise<void> {
    const r = await post(this.url, trickleBody(candidate, nextTransaction()));
    if (r.janus === 'error') throw new JanusError(`janus trickle: ${r.error?.reason}`);
  }
}
