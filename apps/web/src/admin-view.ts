// The operator view (/app/admin): rooms, participants and their tracks from the RoomService Twirp API
// (ListRooms, ListParticipants), refreshed every 2 s. Tokens: under --dev the server mints admin tokens
// (/app/admin-token, dev only); otherwise the operator pastes one with roomList (and roomAdmin per room) grants.
import { h } from './dom.js';
import type { AppConfig } from './app-config.js';

const REFRESH_MS = 2000;
const TOKEN_KEY = 'atrium.adminToken';

interface TwirpTrack { sid?: string; type?: string; source?: string; muted?: boolean; width?: number; height?: number; mimeType?: string; codecs?: { mimeType?: string }[]; simulcast?: boolean; layers?: { quality?: string; width?: number; height?: number; bitrate?: number }[] }
interface TwirpParticipant { sid?: string; identity?: string; name?: string; state?: string; joinedAt?: string; tracks?: TwirpTrack[] }
interface KindTotals { packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number }
interface Downlink { estimateBps: number | null; allocatedBps: number; audioBps: number; pausedTracks: number }
interface TrackLive { bitrateBps: number; layerBitrateBps: number[] }
interface LiveStats { atMs: number; media: Record<'audio' | 'video', KindTotals>; subscribers: Record<string, Downlink>; tracks?: Record<string, TrackLive> }
interface TwirpRoom { sid?: string; name?: string; numParticipants?: number; numPublishers?: number; creationTime?: string }

async function twirp<T>(method: string, body: object, token: string): Promise<T> {
  const res = await fetch(`/twirp/livekit.RoomService/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as T & { msg?: string };
  if (!res.ok) throw new Error(`${method}: ${res.status} ${json.msg ?? ''}`);
  return json;
}

export function showAdmin(root: HTMLElement, config: AppConfig): void {
  const status = h('p', { id: 'admin-status', class: 'status', role: 'status' });
  const body = h('div', { id: 'admin-rooms', class: 'admin-rooms' });
  const live = h('p', { id: 'admin-live', class: 'admin-live' });
  let lastLive: LiveStats | undefined;
  const tokenInput = h('input', { id: 'admin-token', type: 'password', autocomplete: 'off' });
  const tokenForm = h(
    'form',
    { class: 'admin-token-form' },
    h('label', { for: 'admin-token' }, 'Admin token (roomList, and roomAdmin for the rooms to inspect)'),
    tokenInput,
    h('button', { type: 'submit' }, 'Use'),
  );
  root.replaceChildren(h('main', { class: 'admin' }, h('h1', {}, 'Atrium: rooms'), config.devTokens ? null : tokenForm, status, live, body));
  let pasted = sessionStorage.getItem(TOKEN_KEY) ?? '';
  tokenForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    pasted = tokenInput.value.trim();
    sessionStorage.setItem(TOKEN_KEY, pasted);
    void refresh();
  });

  const tokenFor = async (room: string): Promise<string> => {
    if (!config.devTokens) return pasted;
    const res = await fetch(`/app/admin-token?room=${encodeURIComponent(room)}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`admin token: ${res.status}`);
    return ((await res.json()) as { token: string }).token;
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  async function refresh(): Promise<void> {
    clearTimeout(timer);
    try {
      if (!config.devTokens && pasted === '') {
        status.textContent = 'Paste an admin token to see the rooms.';
        return;
      }
      const listToken = await tokenFor('');
      const { rooms = [] } = await twirp<{ rooms?: TwirpRoom[] }>('ListRooms', {}, listToken);
      // the node's media rates (from two snapshots) and each subscriber's downlink, from /app/api/live
      let downlinks: Record<string, Downlink> = {};
      let liveTracks: Record<string, TrackLive> = {};
      try {
        const res = await fetch('/app/api/live', { headers: { Authorization: `Bearer ${listToken}` }, cache: 'no-store' });
        if (res.ok) {
          const now = (await res.json()) as LiveStats;
          downlinks = now.subscribers;
          liveTracks = now.tracks ?? {};
          if (lastLive) live.textContent = rateLine(lastLive, now);
          lastLive = now;
        }
      } catch {
        // live numbers are extra: the lists above still show
      }
      const sections = await Promise.all(
        rooms.map(async (r) => {
          let participants: TwirpParticipant[] = [];
          let error = '';
          try {
            participants = (await twirp<{ participants?: TwirpParticipant[] }>('ListParticipants', { room: r.name }, await tokenFor(r.name ?? ''))).participants ?? [];
          } catch (err) {
            error = (err as Error).message;
          }
          return roomSection(r, participants, error, downlinks, liveTracks);
        }),
      );
      body.replaceChildren(...(sections.length > 0 ? sections : [h('p', {}, 'No rooms.')]));
      status.textContent = `${rooms.length} room${rooms.length === 1 ? '' : 's'}, updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = `Could not list rooms: ${(err as Error).message}`;
    }
    timer = setTimeout(() => void refresh(), REFRESH_MS);
  }
  void refresh();
}

function kbps(bps: number): string {
  return `${Math.round(bps / 1000)} kbps`;
}

/** "media in: video 1234 kbps, audio 64 kbps; out: ..." from two snapshots of the node's totals. */
export function rateLine(a: LiveStats, b: LiveStats): string {
  const sec = Math.max(0.001, (b.atMs - a.atMs) / 1000);
  const rate = (dir: 'bytesIn' | 'bytesOut', k: 'audio' | 'video'): string => kbps(Math.max(0, (b.media[k][dir] - a.media[k][dir]) * 8) / sec);
  return `Media in: video ${rate('bytesIn', 'video')}, audio ${rate('bytesIn', 'audio')}; out: video ${rate('bytesOut', 'video')}, audio ${rate('bytesOut', 'audio')} (this node, last ${sec.toFixed(1)} s)`;
}

function downlinkText(d: Downlink | undefined): string {
  if (!d) return '';
  const est = d.estimateBps === null ? 'estimating' : `estimate ${kbps(d.estimateBps)}`;
  return `${est}, video ${kbps(d.allocatedBps)}, audio ${kbps(d.audioBps)}${d.pausedTracks > 0 ? `, ${d.pausedTracks} paused` : ''}`;
}

/** "1450 kbps (q 150, h 500, f 800)": what arrives from the publisher now, by layer when there are several. */
export function trackLiveText(t: TrackLive | undefined, layerNames: readonly string[] = ['q', 'h', 'f']): string {
  if (!t) return '';
  const flowing = t.layerBitrateBps.map((bps, i) => [i, bps] as const).filter(([, bps]) => bps > 0);
  const parts = flowing.length > 1 ? ` (${flowing.map(([i, bps]) => `${layerNames[i] ?? i} ${Math.round(bps / 1000)}`).join(', ')})` : '';
  return `${kbps(t.bitrateBps)}${parts}`;
}

function roomSection(r: TwirpRoom, participants: TwirpParticipant[], error: string, downlinks: Record<string, Downlink>, liveTracks: Record<string, TrackLive>): HTMLElement {
  const rows = participants.flatMap((p) => {
    const tracks = p.tracks ?? [];
    const who = `${p.name || p.identity || '?'}${p.name && p.identity ? ` (${p.identity})` : ''}`;
    const down = downlinkText(downlinks[p.sid ?? '']);
    if (tracks.length === 0) return [h('tr', {}, h('td', {}, who), h('td', {}, p.state ?? ''), h('td', {}, down), h('td', { colspan: 5 }, 'no tracks'))];
    return tracks.map((t, i) =>
      h(
        'tr',
        {},
        h('td', {}, i === 0 ? who : ''),
        h('td', {}, i === 0 ? p.state ?? '' : ''),
        h('td', { class: 'downlink' }, i === 0 ? down : ''),
        h('td', {}, `${t.source ?? t.type ?? ''}${t.muted ? ' (muted)' : ''}`),
        h('td', {}, t.mimeType || t.codecs?.[0]?.mimeType || ''),
        h('td', {}, t.width ? `${t.width}x${t.height ?? 0}` : ''),
        h('td', { class: 'track-live' }, trackLiveText(liveTracks[t.sid ?? ''])),
        h('td', {}, (t.layers ?? []).map((l) => `${l.quality ?? ''} ${l.width ?? 0}x${l.height ?? 0}${l.bitrate ? ` ${Math.round(l.bitrate / 1000)} kbps` : ''}`).join(', ')),
      ),
    );
  });
  return h(
    'section',
    { class: 'admin-room', 'data-room': r.name ?? '' },
    h('h2', {}, `${r.name ?? ''} `, h('small', {}, `${r.numParticipants ?? participants.length} participants, ${r.numPublishers ?? 0} publishing`)),
    error ? h('p', { class: 'message' }, error) : null,
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...['participant', 'state', 'receiving (downlink)', 'track', 'codec', 'size', 'sending now', 'layers (announced)'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows),
    ),
  );
}
