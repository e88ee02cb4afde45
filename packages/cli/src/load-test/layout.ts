// `--layout` (lk load-test's flag, same names and sizes): what each simulated subscriber watches, as a client app's
// layout would ask. Each subscriber gives the first publishers it sees a tile, in the order it sees them; tracks of
// publishers beyond the layout's tiles are disabled (UpdateTrackSettings disabled), and each video gets the size of
// its tile (UpdateTrackSettings width/height), from which the server picks the simulcast layer:
//   speaker: 6 participants, one video at 1280x720 and five at 320x180
//   3x3: 9 at 640x360; 4x4: 16 at 320x180; 5x5: 25 at 320x180
// (lk sizes its tiles with three presets: high 1280x720, medium 640x360, low 320x180.) Pure.

export const LAYOUTS = ['speaker', '3x3', '4x4', '5x5'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** A video's tile size; 'heard' for the audio of a publisher with a tile (kept, no size); 'disabled' without a tile. */
export type TileSettings = { width: number; height: number } | 'heard' | 'disabled';

const HIGH = { width: 1280, height: 720 };
const MEDIUM = { width: 640, height: 360 };
const LOW = { width: 320, height: 180 };

const TILES: Record<Layout, { participants: number; videos: readonly { width: number; height: number }[] }> = {
  speaker: { participants: 6, videos: [HIGH, LOW, LOW, LOW, LOW, LOW] },
  '3x3': { participants: 9, videos: Array.from({ length: 9 }, () => MEDIUM) },
  '4x4': { participants: 16, videos: Array.from({ length: 16 }, () => LOW) },
  '5x5': { participants: 25, videos: Array.from({ length: 25 }, () => LOW) },
};

export function isLayout(s: string): s is Layout {
  return (LAYOUTS as readonly string[]).includes(s);
}

/** One subscriber's screen: tiles handed out to publishers and videos as it meets them. */
export class LayoutAssigner {
  private readonly tiles: (typeof TILES)[Layout];
  private readonly publishers: string[] = [];
  private videos = 0;

  constructor(layout: Layout) {
    this.tiles = TILES[layout];
  }

  /** The settings for a newly subscribed track of `publisher` (its first track gives the publisher a tile, if any is left). */
  settingsFor(publisher: string, kind: 'audio' | 'video'): TileSettings {
    if (!this.publishers.includes(publisher)) {
      if (this.publishers.length >= this.tiles.participants) return 'disabled';
      this.publishers.push(publisher);
    }
    if (kind === 'audio') return 'heard';
    const size = this.tiles.videos[this.videos];
    if (size === undefined) return 'disabled';
    this.videos++;
    return size;
  }
}
