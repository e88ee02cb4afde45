// One livekit-client participant in a Chromium page, driven from the test through page.evaluate calls to
// window.atrium (e2e/fixtures/participant-page.js). Calls are plain strings, so nothing is transpiled into the page.
import type { Page } from 'playwright-core';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/** An event recorded by the page (window.__events). Fields depend on `type`. */
export interface PageEvent {
  type: string;
  atMs: number;
  participant?: string;
  isLocal?: boolean;
  trackSid?: string;
  /** livekit-client Track.Source: 'camera' | 'microphone' | 'screen_share' | 'screen_share_audio' | 'unknown'. */
  source?: string;
  /** 'audio' | 'video'. */
  kind?: string;
  /** dataReceived: 'reliable' | 'lossy'. Also the text payload and topic. */
  text?: string;
  topic?: string;
  reason?: unknown;
  state?: string;
  [key: string]: unknown;
}

export interface RemoteTrackStats {
  participant: string;
  trackSid: string;
  source: string;
  kind: string;
  muted: boolean;
  subscribed: boolean;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  packetsReceived: number;
  bytesReceived: number;
  codec: string | undefined;
  /** Audio only: inbound-rtp audioLevel (0..1), samples decoded and concealed, packets the jitter buffer discarded. */
  audioLevel?: number;
  totalSamplesReceived?: number;
  concealedSamples?: number;
  packetsDiscarded?: number;
}

/** One encoding (rid) of a local video track's sender: outbound-rtp plus whether the sender was told to send it. */
export interface LocalEncodingStats {
  trackSid: string;
  source: string;
  rid: string;
  bytesSent: number;
  framesEncoded: number;
  frameWidth: number;
  frameHeight: number;
  scalabilityMode: string | undefined;
  codec: string | undefined;
  /** Why the encoder sends less than asked ('cpu', 'bandwidth', 'none'). */
  qualityLimitationReason: string | undefined;
  active: boolean;
}

export interface LocalPublicationInfo {
  trackSid: string;
  source: string;
  kind: string;
  muted: boolean;
}

export interface ConnectResult {
  identity: string;
  participantSid: string;
  roomName: string;
  serverVersion: string | undefined;
}

export interface PageWaitOptions {
  label: string;
  timeoutMs: number;
}

export interface EventWaitOptions extends PageWaitOptions {
  /** Only events recorded at or after this index (from eventCount()) count. */
  fromIndex?: number;
}

export class BrowserParticipant {
  readonly label: string;
  readonly page: Page;

  constructor(label: string, page: Page) {
    this.label = label;
    this.page = page;
  }

  /** Calls window.atrium[method](...args) in the page (or reads it when it is not a function; a missing one is an error), within 30 s. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    return this.callWithin<T>(DEFAULT_CALL_TIMEOUT_MS, method, ...args);
  }

  /** Like call(), with its own bound: a page call never outlives `timeoutMs`. */
  async callWithin<T = unknown>(timeoutMs: number, method: string, ...args: unknown[]): Promise<T> {
    const expression =
      `(async () => { const api = window.atrium; if (!api) throw new Error('page helper missing');` +
      ` const member = api[${JSON.stringify(method)}];` +
      ` if (member === undefined) throw new Error('the page helper has no ' + ${JSON.stringify(method)});` +
      ` return typeof member === 'function' ? await member.apply(api, ${JSON.stringify(args)}) : member; })()`;
    try {
      return (await withTimeout(this.page.evaluate(expression), timeoutMs, `atrium.${method} to settle`)) as T;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`[${this.label}] atrium.${method} failed: ${message}`, { cause: err });
    }
  }

  /** room.connect(); livekit-client's own limits are 15 s for the WebSocket and 15 s for the peer connection. */
  connect(url: string, token: string, roomOptions: Record<string, unknown> = {}, timeoutMs = 35_000): Promise<ConnectResult> {
    return this.callWithin<ConnectResult>(timeoutMs, 'connect', url, token, roomOptions);
  }

  enableCameraAndMicrophone(): Promise<LocalPublicationInfo[]> {
    return this.call('enableCameraAndMicrophone');
  }

  /** `publishOptions` are livekit-client TrackPublishOptions as JSON, e.g. `{ videoCodec: 'h264' }`. */
  setCameraEnabled(enabled: boolean, publishOptions?: Record<string, unknown>): Promise<LocalPublicationInfo[]> {
    return this.call('setCameraEnabled', enabled, publishOptions ?? null);
  }

  setMicrophoneEnabled(enabled: boolean): Promise<LocalPublicationInfo[]> {
    return this.call('setMicrophoneEnabled', enabled);
  }

  setScreenShareEnabled(enabled: boolean): Promise<LocalPublicationInfo[]> {
    return this.call('setScreenShareEnabled', enabled);
  }

  publishData(text: string, options: { reliable: boolean; topic?: string }): Promise<void> {
    return this.call('publishData', text, options.reliable, options.topic);
  }

  localPublications(): Promise<LocalPublicationInfo[]> {
    return this.call('localPublications');
  }

  remoteTrackStats(): Promise<RemoteTrackStats[]> {
    return this.call('remoteTrackStats');
  }

  localVideoSenderStats(): Promise<LocalEncodingStats[]> {
    return this.call('localVideoSenderStats');
  }

  connectionState(): Promise<string> {
    return this.call('connectionState');
  }

  events(): Promise<PageEvent[]> {
    return this.call('events');
  }

  /** How many events the page has recorded so far: pass it as `fromIndex` to wait only for later ones. */
  async eventCount(): Promise<number> {
    return (await this.events()).length;
  }

  disconnect(): Promise<void> {
    return this.call('disconnect');
  }

  /** Waits until an event matching `match` has been recorded (at or after `fromIndex`, default 0). */
  async waitForEvent(match: (event: PageEvent) => boolean, options: EventWaitOptions): Promise<PageEvent> {
    const fromIndex = options.fromIndex ?? 0;
    return waitFor(async () => (await this.events()).slice(fromIndex).find(match), {
      label: `[${this.label}] ${options.label}`,
      timeoutMs: options.timeoutMs,
      describe: async () => `events so far: ${summarizeEvents(await this.events().catch(() => []))}`,
    });
  }

  /**
   * Waits until the picked remote track decodes frames satisfying `ok` and is still decoding 10 frames later (a stuck
   * decoder keeps reporting its last frame size): what a viewer sees, not a size left over from before.
   */
  async waitForDecoding(
    pick: (rows: RemoteTrackStats[]) => RemoteTrackStats | undefined,
    ok: (row: RemoteTrackStats) => boolean,
    options: PageWaitOptions,
  ): Promise<RemoteTrackStats> {
    const first = await this.waitForStats(pick, (r) => ok(r) && r.framesDecoded > 0, options);
    return this.waitForStats(pick, (r) => ok(r) && r.framesDecoded >= first.framesDecoded + 10, {
      ...options,
      label: `${options.label}, still decoding`,
    });
  }

  /**
   * Frames per second the picked remote track decodes over `windowMs` from `first` (a row from waitForDecoding), and
   * the row at the end of the window.
   */
  async decodeRate(
    pick: (rows: RemoteTrackStats[]) => RemoteTrackStats | undefined,
    first: RemoteTrackStats,
    windowMs: number,
  ): Promise<{ fps: number; row: RemoteTrackStats | undefined }> {
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const row = pick(await this.remoteTrackStats());
    return { fps: (((row?.framesDecoded ?? 0) - first.framesDecoded) * 1000) / (Date.now() - t0), row };
  }

  /** Waits until the stats row picked by `pick` satisfies `ok`; the error shows the last rows seen. */
  async waitForStats(
    pick: (rows: RemoteTrackStats[]) => RemoteTrackStats | undefined,
    ok: (row: RemoteTrackStats) => boolean,
    options: PageWaitOptions,
  ): Promise<RemoteTrackStats> {
    let lastRows: RemoteTrackStats[] = [];
    return waitFor(
      async () => {
        lastRows = await this.remoteTrackStats();
        const row = pick(lastRows);
        return row && ok(row) ? row : undefined;
      },
      {
        label: `[${this.label}] ${options.label}`,
        timeoutMs: options.timeoutMs,
        intervalMs: 250,
        describe: () => `last remote track stats: ${JSON.stringify(lastRows)}`,
      },
    );
  }

  async close(): Promise<void> {
    await this.page.close().catch(() => undefined);
  }
}

/** A compact one-line view of page events for error messages. */
export function summarizeEvents(events: PageEvent[]): string {
  return events
    .map((e) => {
      const parts = [e.type];
      if (e.participant !== undefined) parts.push(e.participant);
      if (e.source !== undefined) parts.push(e.source);
      if (e.kind !== undefined) parts.push(String(e.kind));
      if (e.state !== undefined) parts.push(e.state);
      if (e.text !== undefined) parts.push(JSON.stringify(e.text));
      return parts.join(':');
    })
    .join(', ');
}
