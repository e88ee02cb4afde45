// The video grid: one tile per participant (camera, or their initial when the camera is off) and one per screen
// share, kept in step with the room by `syncTiles` (called on every room event that changes what is shown).
import { ConnectionQuality, Track, type Participant, type Room, type TrackPublication, type VideoTrack } from 'livekit-client';
import { flag, h } from './dom.js';
import { gridColumns } from './links.js';

interface TileSpec {
  key: string;
  participant: Participant;
  source: 'camera' | 'screen_share';
  publication: TrackPublication | undefined;
}

const QUALITY_LABEL: Record<string, string> = {
  [ConnectionQuality.Excellent]: 'excellent',
  [ConnectionQuality.Good]: 'good',
  [ConnectionQuality.Poor]: 'poor',
  [ConnectionQuality.Lost]: 'lost',
  [ConnectionQuality.Unknown]: 'unknown',
};

export function qualityLabel(q: ConnectionQuality): string {
  return QUALITY_LABEL[q] ?? 'unknown';
}

export function displayName(p: Participant): string {
  return p.name || p.identity;
}

function tileSpecs(room: Room): TileSpec[] {
  const out: TileSpec[] = [];
  const people: Participant[] = [room.localParticipant, ...room.remoteParticipants.values()];
  for (const p of people) {
    out.push({ key: `${p.identity}|camera`, participant: p, source: 'camera', publication: p.getTrackPublication(Track.Source.Camera) });
    const screen = p.getTrackPublication(Track.Source.ScreenShare);
    if (screen) out.push({ key: `${p.identity}|screen_share`, participant: p, source: 'screen_share', publication: screen });
  }
  return out;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A crossed-out microphone (inline SVG: no emoji font needed). */
function micMutedIcon(): HTMLElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (const d of ['M12 3a3 3 0 0 0-3 3v5a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z', 'M5 11a7 7 0 0 0 14 0M12 18v3', 'M4 4l16 16']) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return h('span', { class: 'mic-muted', title: 'microphone muted', role: 'img', 'aria-label': 'microphone muted' }, svg);
}

function createTile(spec: TileSpec): HTMLElement {
  const video = h('video', { autoplay: true, playsinline: true, muted: true });
  video.muted = true;
  const who = displayName(spec.participant) + (spec.participant.isLocal ? ' (you)' : '');
  return h(
    'figure',
    { class: 'tile', 'data-key': spec.key, 'data-identity': spec.participant.identity, 'data-source': spec.source, tabindex: 0 },
    video,
    h('div', { class: 'avatar', 'aria-hidden': 'true' }, (displayName(spec.participant)[0] ?? '?').toUpperCase()),
    h(
      'figcaption',
      {},
      micMutedIcon(),
      h('span', { class: 'name' }, spec.source === 'screen_share' ? `${who}: screen` : who),
      h('span', { class: 'quality', role: 'img', 'aria-label': 'connection quality unknown' }, h('i'), h('i'), h('i')),
    ),
  );
}

/** Brings the grid in line with the room: adds and removes tiles, attaches video, updates muted/speaking/quality. */
export function syncTiles(grid: HTMLElement, room: Room): void {
  const specs = tileSpecs(room);
  const wanted = new Set(specs.map((s) => s.key));
  for (const el of Array.from(grid.querySelectorAll<HTMLElement>('.tile'))) {
    if (!wanted.has(el.dataset['key'] ?? '')) el.remove();
  }
  const speaking = new Set(room.activeSpeakers.map((p) => p.identity));
  let previous: HTMLElement | null = null;
  for (const spec of specs) {
    let tile = grid.querySelector<HTMLElement>(`.tile[data-key="${CSS.escape(spec.key)}"]`);
    if (!tile) tile = createTile(spec);
    // keep the order of specs: local first, then remote participants, each followed by their screen share
    if (previous === null ? grid.firstElementChild !== tile : previous.nextElementSibling !== tile) {
      if (previous === null) grid.prepend(tile);
      else previous.after(tile);
    }
    previous = tile;
    const video = tile.querySelector('video') as HTMLVideoElement;
    const track = spec.publication?.track as VideoTrack | undefined;
    const hasVideo = track !== undefined && spec.publication?.isMuted !== true;
    if (track && !track.attachedElements.includes(video)) track.attach(video);
    flag(tile, 'videoOff', !hasVideo);
    flag(tile, 'local', spec.participant.isLocal);
    if (spec.source === 'camera') {
      flag(tile, 'micMuted', !spec.participant.isMicrophoneEnabled);
      flag(tile, 'speaking', speaking.has(spec.participant.identity));
    }
    const q = qualityLabel(spec.participant.connectionQuality);
    tile.dataset['quality'] = q;
    tile.querySelector('.quality')?.setAttribute('aria-label', `connection quality ${q}`);
  }
  const count = specs.length;
  grid.style.setProperty('--cols', String(gridColumns(count, grid.clientWidth || window.innerWidth)));
  grid.dataset['count'] = String(count);
}
