// Entry of the web app (docs/web-app.md): /app/admin is the operator view; every other page (/app/, /rooms/<name>)
// is the lobby, then the room.
import { setLogLevel } from 'livekit-client';
import { loadAppConfig } from './app-config.js';
import { showLobby } from './lobby.js';
import { showAdmin } from './admin-view.js';

async function start(): Promise<void> {
  const root = document.getElementById('app');
  if (!root) return;
  setLogLevel('warn');
  const config = await loadAppConfig();
  if (location.pathname.replace(/\/+$/, '') === '/app/admin') showAdmin(root, config);
  else showLobby(root, config);
}

void start();
