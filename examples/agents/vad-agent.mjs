// Voice activity agent, an unmodified @livekit/agents 1.9 worker registered as `vad` (explicit dispatch only):
// it subscribes to every microphone track in the room, runs Silero VAD (@livekit/agents-plugin-silero, whose ONNX
// model ships inside the npm package) on each, and tells the room who is speaking:
//
// - its own participant attribute `speaking`: the identities currently speaking, sorted, comma-separated
//   (the attribute is removed, i.e. set to "", when nobody speaks);
// - a reliable data message on topic `vad` at each start and end of speech:
//   {"identity": "...", "trackSid": "TR_...", "speaking": true|false, "at": <epoch ms>, "probability": 0.97,
//    "speechMs"|"silenceMs": <how long the model has heard speech or silence>}.
//
// The model is loaded once per job process, in prewarm, as the plugin intends.
//
//   LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret node vad-agent.mjs dev
//
// then dispatch it into a room, e.g. with livekit-server-sdk:
//   new AgentDispatchClient(url, key, secret).createDispatch('my-room', 'vad')
import { fileURLToPath } from 'node:url';
import { AutoSubscribe, cli, defineAgent, VADEventType, WorkerOptions } from '@livekit/agents';
import { VAD } from '@livekit/agents-plugin-silero';
import { AudioStream, RoomEvent, TrackKind, TrackSource } from '@livekit/rtc-node';

export const AGENT_NAME = 'vad';
export const DATA_TOPIC = 'vad';
export const SPEAKING_ATTRIBUTE = 'speaking';
/** Silero runs on 16 kHz mono; AudioStream resamples the decoded track to that. */
const VAD_SAMPLE_RATE = 16_000;
const ATTRIBUTE_ANSWER_WAIT_MS = 1_000;

export default defineAgent({
  prewarm: async (proc) => {
    proc.userData.vad = await VAD.load();
  },
  entry: async (ctx) => {
    /** @type {VAD} */
    const vad = ctx.proc.userData.vad ?? (await VAD.load());
    await ctx.connect(undefined, AutoSubscribe.AUDIO_ONLY);
    const room = ctx.room;
    const local = room.localParticipant;
    console.log(`vad-agent: joined room ${room.name} as ${local?.identity}`);

    /** identity -> number of its microphone tracks currently in speech */
    const speaking = new Map();
    // Data messages and attribute updates each go out one after another, in the order the VAD produced them.
    // setAttributes resolves when the server's RequestResponse arrives, but rtc-node 0.13 (its Rust core) can
    // miss an answer that comes back before it starts waiting for it (seen on loopback) and then waits for its
    // request timeout; the update itself has reached the server. So an attribute update is given at most
    // ATTRIBUTE_ANSWER_WAIT_MS before the next one goes out, and the data messages do not wait for attributes.
    let dataSent = Promise.resolve();
    let attributesSent = Promise.resolve();
    const announce = (message) => {
      const identities = [...speaking.keys()].sort().join(',');
      const payload = new TextEncoder().encode(JSON.stringify(message));
      dataSent = dataSent
        .then(() => local.publishData(payload, { reliable: true, topic: DATA_TOPIC }))
        .then(() => console.log(`vad-agent: ${message.identity} ${message.speaking ? 'started' : 'stopped'} speaking (speaking: [${identities}])`))
        .catch((err) => console.error('vad-agent: could not send the vad message', err));
      attributesSent = attributesSent.then(() => {
        const update = local.setAttributes({ [SPEAKING_ATTRIBUTE]: identities });
        update.catch((err) => console.warn(`vad-agent: no answer to the attribute update (${err?.message ?? err})`));
        return Promise.race([update, new Promise((resolve) => setTimeout(resolve, ATTRIBUTE_ANSWER_WAIT_MS))]).catch(() => undefined);
      });
    };

    const watched = new Set();
    const watch = async (track, publication, participant) => {
      if (track.kind !== TrackKind.KIND_AUDIO || publication.source !== TrackSource.SOURCE_MICROPHONE) return;
      if (watched.has(track.sid)) return;
      watched.add(track.sid);
      console.log(`vad-agent: listening to ${participant.identity}'s microphone ${track.sid}`);
      const vadStream = vad.stream();
      const audio = new AudioStream(track, { sampleRate: VAD_SAMPLE_RATE, numChannels: 1 });
      // When the track's audio ends, close the VAD stream, which ends the event loop below. (Not endInput():
      // in @livekit/agents 1.9 it throws "WritableStream is locked".)
      const pump = (async () => {
        for await (const frame of audio) vadStream.pushFrame(frame);
      })()
        .catch(() => undefined)
        .finally(() => vadStream.close());
      let inSpeech = false;
      const set = (on, event) => {
        if (on === inSpeech) return;
        inSpeech = on;
        const count = (speaking.get(participant.identity) ?? 0) + (on ? 1 : -1);
        if (count > 0) speaking.set(participant.identity, count);
        else speaking.delete(participant.identity);
        announce({
          identity: participant.identity,
          trackSid: track.sid,
          speaking: on,
          at: Date.now(),
          ...(event ? { probability: Number(event.probability.toFixed(3)) } : {}),
          ...(event && on ? { speechMs: Math.round(event.speechDuration) } : {}),
          ...(event && !on ? { silenceMs: Math.round(event.silenceDuration) } : {}),
        });
      };
      try {
        for await (const event of vadStream) {
          if (event.type === VADEventType.START_OF_SPEECH) set(true, event);
          else if (event.type === VADEventType.END_OF_SPEECH) set(false, event);
        }
      } finally {
        set(false, undefined); // the track went away mid-speech
        watched.delete(track.sid);
        await pump;
      }
    };

    room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
      watch(track, publication, participant).catch((err) => console.error('vad-agent: VAD failed', err));
    });
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        if (publication.track) {
          watch(publication.track, publication, participant).catch((err) => console.error('vad-agent: VAD failed', err));
        }
      }
    }
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli.runApp(new WorkerOptions({ agent: fileURLToPath(import.meta.url), agentName: AGENT_NAME }));
}
