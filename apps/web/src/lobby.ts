// The lobby: room and display name, camera/microphone preview with device choice, then join. The token comes from
// ?token= (production links), else from the token endpoint (web.token_endpoint, or the dev one under --dev).
import { createLocalAudioTrack, createLocalVideoTrack, Room, type LocalAudioTrack, type LocalVideoTrack } from 'livekit-client';
import { h } from './dom.js';
import { tokenEndpointOf, type AppConfig } from './app-config.js';
import { decodeTokenClaims, identityFor, parseTokenAnswer, roomFromPath, sameOriginSignalUrl, tokenRequestUrl } from './links.js';
import { showRoom } from './room-view.js';

const NAME_KEY = 'atrium.displayName';

export function showLobby(root: HTMLElement, config: AppConfig, notice?: string): void {
  const params = new URLSearchParams(location.search);
  const givenToken = params.get('token') ?? undefined;
  const claims = givenToken ? decodeTokenClaims(givenToken) : undefined;
  const endpoint = tokenEndpointOf(config);
  const room = claims?.room ?? roomFromPath(location.pathname) ?? params.get('room') ?? '';
  const savedName = safeStorage()?.getItem(NAME_KEY) ?? '';

  const roomInput = h('input', { id: 'lobby-room', name: 'room', required: true, maxlength: 128, autocomplete: 'off', value: room, readonly: givenToken !== undefined });
  const nameInput = h('input', { id: 'lobby-name', name: 'name', required: true, maxlength: 64, autocomplete: 'nickname', value: claims?.name ?? savedName, readonly: givenToken !== undefined });
  const preview = h('video', { class: 'preview', muted: true, playsinline: true, autoplay: true, 'aria-label': 'camera preview' });
  preview.muted = true;
  const cameraSelect = h('select', { id: 'lobby-camera' });
  const micSelect = h('select', { id: 'lobby-mic' });
  const cameraOn = h('input', { id: 'lobby-camera-on', type: 'checkbox', checked: true });
  const micOn = h('input', { id: 'lobby-mic-on', type: 'checkbox', checked: true });
  const joinButton = h('button', { id: 'lobby-join', type: 'submit', class: 'primary' }, 'Join');
  const message = h('p', { id: 'lobby-message', class: 'message', role: 'alert' });
  if (notice) message.textContent = notice;

  let video: LocalVideoTrack | undefined;
  let audio: LocalAudioTrack | undefined;
  let handedOver = false;

  const canGetToken = givenToken !== undefined || endpoint !== undefined;
  const noToken = canGetToken
    ? null
    : h(
        'div',
        { id: 'no-token', class: 'no-token', role: 'alert' },
        h('h2', {}, 'No token for this room'),
        h('p', {}, 'This server does not hand out tokens to browsers. Open the link your application gave you (it carries ?token=…), ' +
          'or ask the operator to set web.token_endpoint. On a development server, start it with --dev.'),
      );
  if (!canGetToken) joinButton.disabled = true;

  const form = h(
    'form',
    { class: 'lobby-form', 'aria-labelledby': 'lobby-title' },
    h('label', { for: 'lobby-room' }, 'Room'),
    roomInput,
    h('label', { for: 'lobby-name' }, 'Your name'),
    nameInput,
    h('div', { class: 'preview-box' }, preview),
    h('label', { for: 'lobby-camera' }, 'Camera'),
    cameraSelect,
    h('label', { for: 'lobby-mic' }, 'Microphone'),
    micSelect,
    h('div', { class: 'toggles' }, h('label', {}, cameraOn, ' Camera on'), h('label', {}, micOn, ' Microphone on')),
    joinButton,
  );
  root.replaceChildren(
    h('main', { class: 'lobby' }, h('h1', { id: 'lobby-title' }, 'Atrium'), h('p', { class: 'subtitle' }, 'Join a room'), noToken, form, message),
  );
  (room === '' ? roomInput : nameInput).focus();

  const fillDevices = async (): Promise<void> => {
    for (const [kind, select, track] of [['videoinput', cameraSelect, video], ['audioinput', micSelect, audio]] as const) {
      const devices = await Room.getLocalDevices(kind, false).catch(() => []);
      const current = track?.mediaStreamTrack.getSettings().deviceId;
      select.replaceChildren(...devices.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`)));
      select.disabled = devices.length === 0;
    }
  };
  const startPreview = async (): Promise<void> => {
    try {
      video = await createLocalVideoTrack({ resolution: { width: 1280, height: 720, frameRate: 30 } });
      video.attach(preview);
    } catch (err) {
      message.textContent = `Camera unavailable: ${(err as Error).message}`;
    }
    try {
      audio = await createLocalAudioTrack({ echoCancellation: true, noiseSuppression: true });
    } catch (err) {
      message.textContent = `Microphone unavailable: ${(err as Error).message}`;
    }
    await fillDevices();
  };
  void startPreview();

  cameraSelect.addEventListener('change', () => void video?.setDeviceId(cameraSelect.value));
  micSelect.addEventListener('change', () => void audio?.setDeviceId(micSelect.value));
  cameraOn.addEventListener('change', () => {
    preview.hidden = !cameraOn.checked;
  });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void join();
  });

  async function join(): Promise<void> {
    const roomName = roomInput.value.trim();
    const displayName = nameInput.value.trim();
    if (roomName === '' || displayName === '') {
      message.textContent = 'Enter a room and your name.';
      return;
    }
    joinButton.disabled = true;
    message.textContent = 'Joining…';
    safeStorage()?.setItem(NAME_KEY, displayName);
    let token = givenToken;
    let url = '';
    if (token === undefined && endpoint !== undefined) {
      try {
        const res = await fetch(tokenRequestUrl(endpoint, location.href, { room: roomName, identity: identityFor(displayName), name: displayName }), { cache: 'no-store' });
        const answer = res.ok ? parseTokenAnswer(await res.json()) : undefined;
        if (!answer) throw new Error(`the token endpoint answered ${res.status}`);
        token = answer.token;
        url = answer.url;
      } catch (err) {
        message.textContent = `Could not get a token: ${(err as Error).message}`;
        joinButton.disabled = false;
        return;
      }
    }
    if (token === undefined) return;
    if (location.pathname !== `/rooms/${encodeURIComponent(roomName)}` && givenToken === undefined) {
      history.replaceState(null, '', `/rooms/${encodeURIComponent(roomName)}`);
    }
    handedOver = true;
    video?.detach(preview);
    if (!cameraOn.checked) video?.stop();
    if (!micOn.checked) audio?.stop();
    showRoom(root, {
      config,
      url: url || sameOriginSignalUrl(location),
      token,
      roomName,
      ...(cameraOn.checked && video ? { video } : {}),
      ...(micOn.checked && audio ? { audio } : {}),
    });
  }

  window.addEventListener('pagehide', () => {
    if (!handedOver) {
      video?.stop();
      audio?.stop();
    }
  }, { once: true });
}

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}
