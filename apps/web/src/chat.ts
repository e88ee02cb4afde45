// Chat over data messages: reliable, topic 'chat', a JSON body {id, text, ts} (what livekit-client's publishData
// carries through any SFU; docs/web-app.md).
import type { Participant } from 'livekit-client';
import { h } from './dom.js';

export const CHAT_TOPIC = 'chat';
export const MAX_CHAT_CHARS = 2000;

export interface ChatMessage {
  id: string;
  text: string;
  ts: number;
}

export function encodeChat(text: string, now: number = Date.now()): Uint8Array<ArrayBuffer> {
  const msg: ChatMessage = { id: `${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`, text: text.slice(0, MAX_CHAT_CHARS), ts: now };
  return new TextEncoder().encode(JSON.stringify(msg));
}

/** A received chat payload, or undefined when it is not one (bad JSON, no text). */
export function decodeChat(payload: Uint8Array): ChatMessage | undefined {
  try {
    const m = JSON.parse(new TextDecoder().decode(payload)) as Partial<ChatMessage>;
    if (typeof m.text !== 'string' || m.text === '') return undefined;
    return { id: typeof m.id === 'string' ? m.id : '', text: m.text.slice(0, MAX_CHAT_CHARS), ts: typeof m.ts === 'number' ? m.ts : Date.now() };
  } catch {
    return undefined;
  }
}

/** One line of the chat log; text goes in as text (never HTML). */
export function chatLine(from: Participant | undefined, msg: ChatMessage, isMine: boolean): HTMLLIElement {
  const time = new Date(msg.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return h(
    'li',
    { class: isMine ? 'chat-line mine' : 'chat-line', 'data-from': from?.identity ?? '' },
    h('span', { class: 'chat-from' }, isMine ? 'You' : from ? from.name || from.identity : 'server'),
    h('time', {}, time),
    h('p', { class: 'chat-text' }, msg.text),
  );
}
