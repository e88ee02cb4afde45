// A small typed event emitter for the control plane (never per packet). A listener that throws is
// reported through `onListenerError` and cannot break the emitter or its caller.
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;
// Storage is untyped; the public methods keep each event's argument types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

export class TypedEmitter<E extends EventMap> {
  private listeners = new Map<keyof E, AnyListener[]>();
  /** Called when a listener throws; defaults to printing to stderr. */
  onListenerError: (err: unknown, event: string) => void = (err, event) => {
    console.error(`listener for '${event}' threw`, err);
  };

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.listeners.get(event) ?? [];
    list.push(fn as AnyListener);
    this.listeners.set(event, list);
    return this;
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const wrapper = ((...args: E[K]) => {
      this.off(event, wrapper);
      fn(...args);
    }) as Listener<E[K]>;
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const i = list.indexOf(fn as AnyListener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
    return this;
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const fn of [...list]) {
      try {
        fn(...args);
      } catch (err) {
        this.onListenerError(err, String(event));
      }
    }
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }
}
