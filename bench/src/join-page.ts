// Page-side code of the join benchmark, as strings run in headless Chromium: an init script that timestamps the
// page's WebSocket and RTCPeerConnection steps, and the bodies that join as publisher or viewer and time the join
// with performance.now() (body of `window.atrium.run`, e2e/fixtures/participant-page.js).

/**
 * Records into window.__joinTrace ({ atMs: epoch ms, what }) the signal WebSocket's open and first message, and
 * per RTCPeerConnection (`pcN`) its descriptions, candidates, ICE/connection states and remote tracks.
 */
export const PAGE_TRACE_INIT_SCRIPT = `(() => {
  const trace = [];
  window.__joinTrace = trace;
  const add = (what) => trace.push({ atMs: performance.timeOrigin + performance.now(), what });
  const OrigWs = window.WebSocket;
  window.WebSocket = class extends OrigWs {
    constructor(...args) {
      super(...args);
      add('ws created (' + new URL(String(args[0])).pathname + ')');
      this.addEventListener('open', () => add('ws open'));
      let messages = 0;
      this.addEventListener('message', () => { messages++; if (messages <= 1) add('ws first message (join response)'); });
    }
  };
  // The first frame out of the decoder of any remote video track: a clone read by MediaStreamTrackProcessor from the
  // moment the track exists (livekit-client's TrackSubscribed comes later), then stopped.
  window.__firstDecodedAt = undefined;
  const watchFirstFrame = (track) => {
    if (typeof MediaStreamTrackProcessor !== 'function') return;
    const clone = track.clone();
    const reader = new MediaStreamTrackProcessor({ track: clone }).readable.getReader();
    reader.read().then((r) => {
      if (window.__firstDecodedAt === undefined && r.value) {
        window.__firstDecodedAt = performance.now();
        add('first decoded video frame (MediaStreamTrackProcessor)');
      }
      if (r.value) r.value.close();
      reader.cancel().catch(() => {});
      clone.stop();
    }).catch(() => {});
  };
  let pcCount = 0;
  const OrigPc = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends OrigPc {
    constructor(...args) {
      super(...args);
      const id = 'pc' + pcCount++;
      this.__id = id;
      add(id + ' created');
      const once = new Set();
      const first = (what, always) => { if (always || !once.has(what)) { once.add(what); add(id + ' ' + what); } };
      this.addEventListener('iceconnectionstatechange', () => first('ice ' + this.iceConnectionState));
      this.addEventListener('connectionstatechange', () => first('connection ' + this.connectionState));
      this.addEventListener('icegatheringstatechange', () => first('gathering ' + this.iceGatheringState));
      this.addEventListener('icecandidate', (e) => { if (e.candidate) first('local candidate'); });
      this.addEventListener('track', (e) => {
        first('track event ' + e.track.kind);
        if (e.track.kind === 'video') watchFirstFrame(e.track);
      });
      this.addEventListener('datachannel', (e) => {
        first('remote datachannel ' + e.channel.label);
        e.channel.addEventListener('open', () => first('datachannel open ' + e.channel.label));
      });
      this.__first = first;
    }
    async setRemoteDescription(desc, ...rest) {
      this.__first('setRemoteDescription ' + (desc && desc.type) + ' called', true);
      const r = await super.setRemoteDescription(desc, ...rest);
      this.__first('setRemoteDescription ' + (desc && desc.type) + ' done', true);
      return r;
    }
    async setLocalDescription(desc, ...rest) {
      const r = await super.setLocalDescription(desc, ...rest);
      this.__first('setLocalDescription ' + (this.localDescription && this.localDescription.type) + ' done', true);
      return r;
    }
    createDataChannel(label, ...rest) {
      const ch = super.createDataChannel(label, ...rest);
      ch.addEventListener('open', () => this.__first('datachannel open ' + label));
      return ch;
    }
    async addIceCandidate(c, ...rest) {
      this.__first('addIceCandidate (remote trickle)');
      return super.addIceCandidate(c, ...rest);
    }
  };
})();`;

/** What a join body returns: page performance.now() values (ms) and the epoch of the connect() call. */
export interface PageJoinTimes {
  connectStartEpochMs: number;
  connectStart: number;
  connected: number;
  subscribedVideo?: number;
  subscribedAudio?: number;
  /** First frame presented by the <video> element (requestVideoFrameCallback). */
  firstFrameRendered?: number;
  /** First VideoFrame out of the decoder (MediaStreamTrackProcessor on the remote track; else getStats() polling). */
  firstFrameDecoded?: number;
  localVideoPublished?: number;
  localAudioPublished?: number;
  publishStart?: number;
  error?: string;
}

export const POLL_MS = 5;

/** The page's Room, with `roomOptions` (e.g. `{ singlePeerConnection: false }` for signalling v0) over the bench's. */
const COMMON = (roomOptions: Record<string, unknown>): string => `
  const t = () => performance.now();
  const out = {};
  const r = new LK.Room(Object.assign({ adaptiveStream: false, dynacast: false }, ${JSON.stringify(roomOptions)}));
  window.__benchRoom = r;
`;

const CONNECT = (url: string, token: string): string => `
  out.connectStart = t();
  out.connectStartEpochMs = performance.timeOrigin + out.connectStart;
  await r.connect(${JSON.stringify(url)}, ${JSON.stringify(token)});
  out.connected = t();
  window.__joinTrace.push({ atMs: performance.timeOrigin + out.connected, what: 'room.connect() resolved' });
`;

/** Joins as a viewer: connect() and wait (up to `timeoutMs`) for the first decoded and rendered remote video frame. */
export function viewerBody(url: string, token: string, timeoutMs: number, roomOptions: Record<string, unknown> = {}): string {
  return `${COMMON(roomOptions)}
  let stopped = false;
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  const check = () => { if (out.firstFrameRendered !== undefined && out.firstFrameDecoded !== undefined) done(); };
  r.on(LK.RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === 'audio') { if (out.subscribedAudio === undefined) out.subscribedAudio = t(); return; }
    if (out.subscribedVideo !== undefined) return;
    out.subscribedVideo = t();
    window.__joinTrace.push({ atMs: performance.timeOrigin + out.subscribedVideo, what: 'RoomEvent.TrackSubscribed (video)' });
    const el = track.attach();
    el.muted = true;
    document.body.appendChild(el);
    el.requestVideoFrameCallback(() => { out.firstFrameRendered = t(); check(); });
    (async () => {
      // window.__firstDecodedAt comes from the init script; without MediaStreamTrackProcessor, poll getStats().
      const hasProcessor = typeof MediaStreamTrackProcessor === 'function';
      while (!stopped && out.firstFrameDecoded === undefined) {
        if (hasProcessor) {
          if (window.__firstDecodedAt !== undefined) out.firstFrameDecoded = window.__firstDecodedAt;
        } else {
          const report = await track.receiver.getStats();
          report.forEach((s) => { if (s.type === 'inbound-rtp' && s.framesDecoded > 0 && out.firstFrameDecoded === undefined) out.firstFrameDecoded = t(); });
        }
        check();
        await new Promise((res) => setTimeout(res, ${POLL_MS}));
      }
    })();
  });
  ${CONNECT(url, token)}
  const timer = setTimeout(() => { out.error = 'no video frame within ${timeoutMs} ms'; done(); }, ${timeoutMs});
  await finished;
  clearTimeout(timer);
  stopped = true;
  return out;`;
}

/** Joins as a publisher: connect(), then enableCameraAndMicrophone() until both local tracks are published. */
export function publisherBody(url: string, token: string, roomOptions: Record<string, unknown> = {}): string {
  return `${COMMON(roomOptions)}
  r.on(LK.RoomEvent.LocalTrackPublished, (pub) => {
    if (pub.kind === 'video' && out.localVideoPublished === undefined) out.localVideoPublished = t();
    if (pub.kind === 'audio' && out.localAudioPublished === undefined) out.localAudioPublished = t();
  });
  ${CONNECT(url, token)}
  out.publishStart = t();
  await r.localParticipant.enableCameraAndMicrophone();
  return out;`;
}

export const LEAVE_BODY = `if (window.__benchRoom) await window.__benchRoom.disconnect(true);`;
