// A tiny element builder for the app's views (no framework): h('button', { class: 'x', onclick }, 'text').
type Child = Node | string | null | undefined | false;
type Props = Record<string, string | number | boolean | EventListener | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Sets or removes a boolean data attribute (data-x="true"/absent), for CSS and tests. */
export function flag(el: HTMLElement, name: string, on: boolean): void {
  if (on) el.dataset[name] = 'true';
  else delete el.dataset[name];
}
