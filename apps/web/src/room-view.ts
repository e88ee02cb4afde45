// The room: video grid with speaker highlighting, controls (mic, camera, screen share, devices, leave), chat,
// participant list, connection quality and reconnect states. Built on livekit-client's Room with adaptive stream
// and dynacast.
import {
  ConnectionState, DisconnectReason, Room, RoomEvent, Track,
  type LocalAudioTrack, type LocalVideoTrack, type Participant, type RemoteParticipant, type RemoteTrack,
} from 'livekit-client';
import { flag, h } from './dom.js';
import type { AppConfig } from './app-config.js';
import { CHAT_TOPIC, chatLine, decodeChat, encodeChat } from './chat.js';
import { displayName, qualityLabel, syncTiles } from './tiles.js';
import { showLobby } from './lobby.js';

export interface RoomOptions {
  config: AppConfig;
  url: string;
  token: string;
  roomName: string;
  video?: LocalVideoTrack;
  audio?: LocalAudioTrack;
}

export function showRoom(root: HTMLElement, opts: RoomOptions): void {
  const room = new Room({ adaptiveStream: true, dynacast: true });
  // for tests and debugging in the console
  (window as unknown as { atriumRoom?: Room }).atriumRoom = room;

  const grid = h('section', { class: 'grid', 'aria-label': 'participants video' });
  const status = h('div', { id: 'room-status', class: 'status', role: 'status', 'aria-live': 'polite' }, 'Connecting…');
  const people = h('ul', { id: 'participant-list', class: 'people' });
  const chatLog = h('ol', { id: 'chat-log', class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'chat messages' });
  const chatInput = h('input', { id: 'chat-input', type: 'text', maxlength: 2000, autocomplete: 'off', placeholder: 'Message' });
  const chatForm = h('form', { class: 'chat-form' }, h('label', { for: 'chat-input', class: 'sr-only' }, 'Chat message'), chatInput, h('button', { type: 'submit', id: 'chat-send' }, 'Send'));
  const micButton = h('button', { id: 'toggle-mic', type: 'button', 'aria-pressed': 'true' }, 'Mic');
  const camButton = h('button', { id: 'toggle-camera', type: 'button', 'aria-pressed': 'true' }, 'Camera');
  const screenButton = h('button', { id: 'toggle-screen', type: 'button', 'aria-pressed': 'false' }, 'Share screen');
  const sideButton = h('button', { id: 'toggle-side', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'side' }, 'Chat & people');
  const leaveButton = h('button', { id: 'leave', type: 'button', class: 'danger' }, 'Leave');
  const audioButton = h('button', { id: 'start-audio', type: 'button', hidden: true }, 'Click to hear the room');
  const camSelect = h('select', { id: 'room-camera', 'aria-label': 'camera' });
  const micSelect = h('select', { id: 'room-mic', 'aria-label': 'microphone' });
  const audioSink = h('div', { class: 'audio-sink', hidden: true });
  const side = h(
    'aside',
    { id: 'side', class: 'side' },
    h('h2', {}, 'People'),
    people,
    h('h2', {}, 'Chat'),
    chatLog,
    chatForm,
  );
  const header = h('header', { class: 'room-header' }, h('h1', {}, opts.roomName), status, audioButton);
  const controls = h('footer', { class: 'controls', 'aria-label': 'call controls' }, micButton, camButton, screenButton, camSelect, micSelect, sideButton, leaveButton);
  const view = h('div', { class: 'room' }, header, h('main', { class: 'stage' }, grid), side, controls, audioSink);
  root.replaceChildren(view);

  let left = false;
  const render = (): void => {
    syncTiles(grid, room);
    renderPeople();
    const lp = room.localParticipant;
    setPressed(micButton, lp.isMicrophoneEnabled, 'Mute mic', 'Unmute mic');
    setPressed(camButton, lp.isCameraEnabled, 'Stop camera', 'Start camera');
    setPressed(screenButton, lp.isScreenShareEnabled, 'Stop sharing', 'Share screen');
  };
  const renderPeople = (): void => {
    const all: Participant[] = [room.localParticipant, ...room.remoteParticipants.values()];
    people.replaceChildren(
      ...all.map((p) => {
        const li = h(
          'li',
          { 'data-identity': p.identity },
          h('span', { class: 'name' }, displayName(p) + (p.isLocal ? ' (you)' : '')),
          h('span', { class: 'state' }, `${p.isMicrophoneEnabled ? 'mic on' : 'mic off'}, ${p.isCameraEnabled ? 'camera on' : 'camera off'}${p.isScreenShareEnabled ? ', sharing' : ''}`),
          h('span', { class: 'quality-text' }, qualityLabel(p.connectionQuality)),
        );
        flag(li, 'speaking', p.isSpeaking);
        return li;
      }),
    );
    people.setAttribute('aria-label', `${all.length} in the room`);
  };
  const setStatus = (text: string, state: string): void => {
    status.textContent = text;
    status.dataset['state'] = state;
  };

  room
    .on(RoomEvent.ParticipantConnected, render)
    .on(RoomEvent.ParticipantDisconnected, render)
    .on(RoomEvent.TrackPublished, render)
    .on(RoomEvent.TrackUnpublished, render)
    .on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
      if (track.kind === Track.Kind.Audio) audioSink.append(track.attach());
      render();
    })
    .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
      for (const el of track.detach()) if (el.parentElement === audioSink) el.remove();
      render();
    })
    .on(RoomEvent.TrackMuted, render)
    .on(RoomEvent.TrackUnmuted, render)
    .on(RoomEvent.LocalTrackPublished, render)
    .on(RoomEvent.LocalTrackUnpublished, render)
    .on(RoomEvent.ActiveSpeakersChanged, render)
    .on(RoomEvent.ConnectionQualityChanged, render)
    .on(RoomEvent.ParticipantNameChanged, render)
    .on(RoomEvent.AudioPlaybackStatusChanged, () => {
      audioButton.hidden = room.canPlaybackAudio;
    })
    .on(RoomEvent.Reconnecting, () => setStatus('Reconnecting…', 'reconnecting'))
    .on(RoomEvent.SignalReconnecting, () => setStatus('Reconnecting…', 'reconnecting'))
    .on(RoomEvent.Reconnected, () => {
      setStatus('Reconnected', 'reconnected');
      render();
    })
    .on(RoomEvent.ConnectionStateChanged, (s: ConnectionState) => {
      if (s === ConnectionState.Connected && status.dataset['state'] !== 'reconnected') setStatus('Connected', 'connected');
    })
    .on(RoomEvent.MediaDevicesChanged, () => void fillDevices())
    .on(RoomEvent.DataReceived, (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string) => {
      if (topic !== CHAT_TOPIC) return;
      const msg = decodeChat(payload);
      if (msg) appendChat(chatLine(participant, msg, false));
    })
    .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
      if (left) return;
      left = true;
      cleanup();
      const why = reason === DisconnectReason.DUPLICATE_IDENTITY ? 'someone joined with your identity' : reason === DisconnectReason.PARTICIPANT_REMOVED ? 'you were removed' : reason === DisconnectReason.ROOM_DELETED ? 'the room was closed' : 'the connection was lost';
      showLobby(root, opts.config, `Disconnected: ${why}.`);
    });

  const appendChat = (line: HTMLLIElement): void => {
    chatLog.append(line);
    chatLog.scrollTop = chatLog.scrollHeight;
  };

  chatForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = chatInput.value.trim();
    if (text === '' || room.state !== ConnectionState.Connected) return;
    const payload = encodeChat(text);
    void room.localParticipant.publishData(payload, { reliable: true, topic: CHAT_TOPIC }).then(
      () => {
        const msg = decodeChat(payload);
        if (msg) appendChat(chatLine(room.localParticipant, msg, true));
        chatInput.value = '';
      },
      (err: unknown) => setStatus(`Chat message not sent: ${(err as Error).message}`, 'error'),
    );
  });

  micButton.addEventListener('click', () => void act(() => room.localParticipant.setMicrophoneEnabled(!room.localParticipant.isMicrophoneEnabled)));
  camButton.addEventListener('click', () => void act(() => room.localParticipant.setCameraEnabled(!room.localParticipant.isCameraEnabled)));
  screenButton.addEventListener('click', () => void act(() => toggleScreen()));
  sideButton.addEventListener('click', () => {
    const open = view.classList.toggle('side-open');
    sideButton.setAttribute('aria-expanded', String(open));
    if (open) chatInput.focus();
  });
  leaveButton.addEventListener('click', () => {
    left = true;
    void room.disconnect().finally(() => {
      cleanup();
      showLobby(root, opts.config, `You left ${opts.roomName}.`);
    });
  });
  audioButton.addEventListener('click', () => void room.startAudio());
  camSelect.addEventListener('change', () => void act(() => room.switchActiveDevice('videoinput', camSelect.value)));
  micSelect.addEventListener('change', () => void act(() => room.switchActiveDevice('audioinput', micSelect.value)));
  const onResize = (): void => syncTiles(grid, room);
  window.addEventListener('resize', onResize);
  const cleanup = (): void => {
    window.removeEventListener('resize', onResize);
    room.removeAllListeners();
  };

  async function toggleScreen(): Promise<void> {
    const lp = room.localParticipant;
    if (lp.isScreenShareEnabled) {
      await lp.setScreenShareEnabled(false);
      return;
    }
    try {
      await lp.setScreenShareEnabled(true, { audio: true, systemAudio: 'include' });
    } catch (err) {
      // some browsers refuse screen audio; share the picture alone then
      if ((err as Error).name === 'NotAllowedError') throw err;
      await lp.setScreenShareEnabled(true, { audio: false });
    }
  }

  async function act(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      setStatus(`${(err as Error).message}`, 'error');
    }
    render();
  }

  async function fillDevices(): Promise<void> {
    for (const [kind, select] of [['videoinput', camSelect], ['audioinput', micSelect]] as const) {
      const devices = await Room.getLocalDevices(kind, false).catch(() => []);
      const active = room.getActiveDevice(kind);
      select.replaceChildren(...devices.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === active }, d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`)));
      select.hidden = devices.length < 2;
    }
  }

  void (async () => {
    try {
      await room.connect(opts.url, opts.token);
    } catch (err) {
      left = true;
      cleanup();
      opts.video?.stop();
      opts.audio?.stop();
      showLobby(root, opts.config, `Could not join: ${(err as Error).message}`);
      return;
    }
    setStatus('Connected', 'connected');
    render();
    try {
      if (opts.video) await room.localParticipant.publishTrack(opts.video, { source: Track.Source.Camera, simulcast: true });
      if (opts.audio) await room.localParticipant.publishTrack(opts.audio, { source: Track.Source.Microphone });
    } catch (err) {
      setStatus(`Publishing failed: ${(err as Error).message}`, 'error');
    }
    audioButton.hidden = room.canPlaybackAudio;
    await fillDevices();
    render();
  })();
}

function setPressed(button: HTMLButtonElement, on: boolean, onLabel: string, offLabel: string): void {
  button.setAttribute('aria-pressed', String(on));
  button.textContent = on ? onLabel : offLabel;
}
