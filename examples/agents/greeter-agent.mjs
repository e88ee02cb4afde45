// Room greeter, an unmodified @livekit/agents 1.9 worker registered WITHOUT an agent name, so Atrium's automatic
// dispatch sends it every new room. It joins as a participant of kind AGENT, publishes an audio track named
// `greeting` (microphone source, fed by an AudioSource in 20 ms frames), and greets every participant that is
// in the room or joins later (other agents excepted):
//
// - a reliable data message on topic `greetings`, sent to that participant only:
//   {"type": "welcome", "identity": "...", "name": "...", "room": "...", "text": "Welcome to <room>, <name>!"}
// - a 2 s chime, a 660 Hz tone, on the `greeting` track. The chime starts when the newcomer subscribes to the
//   track (the server's track_subscribed notice), or after 3 s at the latest, so the newcomer hears it from the start.
//
//   LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret node greeter-agent.mjs dev
import { fileURLToPath } from 'node:url';
import { AutoSubscribe, cli, defineAgent, WorkerOptions } from '@livekit/agents';
import {
  AudioFrame,
  AudioSource,
  LocalAudioTrack,
  ParticipantKind,
  RoomEvent,
  TrackPublishOptions,
  TrackSource,
} from '@livekit/rtc-node';

export const DATA_TOPIC = 'greetings';
export const CHIME_HZ = 660;
const CHIME_MS = 2_000;
const SAMPLE_RATE = 48_000;
const FRAME_MS = 20;
const SUBSCRIBE_WAIT_MS = 3_000;

/** One 20 ms frame of the chime: a sine at CHIME_HZ, faded in and out over 20 ms to avoid clicks. */
function chimeFrame(index, totalFrames) {
  const n = (SAMPLE_RATE * FRAME_MS) / 1000;
  const data = new Int16Array(n);
  const fade = n;
  const total = totalFrames * n;
  for (let i = 0; i < n; i++) {
    const s = index * n + i;
    const gain = Math.min(1, s / fade, (total - s) / fade);
    data[i] = Math.round(0.3 * 32767 * gain * Math.sin((2 * Math.PI * CHIME_HZ * s) / SAMPLE_RATE));
  }
  return new AudioFrame(data, SAMPLE_RATE, 1, n);
}

export default defineAgent({
  entry: async (ctx) => {
    await ctx.connect(undefined, AutoSubscribe.SUBSCRIBE_NONE);
    const room = ctx.room;
    const local = room.localParticipant;
    console.log(`greeter-agent: joined room ${room.name} as ${local?.identity}`);

    // Each remote subscription to the greeting track resolves the oldest waiting newcomer.
    const waitingForSubscription = [];
    room.on(RoomEvent.LocalTrackSubscribed, () => waitingForSubscription.shift()?.());
    const subscribed = () =>
      new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const i = waitingForSubscription.indexOf(done);
          if (i >= 0) waitingForSubscription.splice(i, 1);
          resolve();
        }, SUBSCRIBE_WAIT_MS);
        waitingForSubscription.push(done);
      });

    const source = new AudioSource(SAMPLE_RATE, 1);
    let chimes = Promise.resolve();
    const chime = () => {
      chimes = chimes.then(async () => {
        const frames = CHIME_MS / FRAME_MS;
        for (let i = 0; i < frames; i++) await source.captureFrame(chimeFrame(i, frames));
      });
      return chimes;
    };

    const greeted = new Set();
    const shouldGreet = (participant) => participant.kind !== ParticipantKind.AGENT && !greeted.has(participant.identity);
    const greet = (participant, whenSubscribed) => {
      greeted.add(participant.identity);
      const name = participant.name || participant.identity;
      const message = { type: 'welcome', identity: participant.identity, name, room: room.name, text: `Welcome to ${room.name}, ${name}!` };
      local
        .publishData(new TextEncoder().encode(JSON.stringify(message)), {
          reliable: true,
          topic: DATA_TOPIC,
          destination_identities: [participant.identity],
        })
        .then(() => console.log(`greeter-agent: welcomed ${participant.identity}`))
        .catch((err) => console.error('greeter-agent: could not send the welcome', err));
      whenSubscribed.then(chime).catch((err) => console.error('greeter-agent: chime failed', err));
    };

    room.on(RoomEvent.ParticipantConnected, (participant) => {
      if (shouldGreet(participant)) greet(participant, subscribed());
    });
    room.on(RoomEvent.ParticipantDisconnected, (participant) => greeted.delete(participant.identity));

    // Those already here subscribe once the track is published: start waiting before publishing.
    const present = [...room.remoteParticipants.values()].filter(shouldGreet).map((p) => ({ p, whenSubscribed: subscribed() }));
    const track = LocalAudioTrack.createAudioTrack('greeting', source);
    await local.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
    console.log('greeter-agent: published the greeting track');
    for (const { p, whenSubscribed } of present) if (shouldGreet(p)) greet(p, whenSubscribed);
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli.runApp(new WorkerOptions({ agent: fileURLToPath(import.meta.url) }));
}
