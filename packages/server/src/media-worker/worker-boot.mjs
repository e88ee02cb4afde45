// A media worker thread's first module: the server runs from TypeScript sources through tsx, and a worker thread
// does not inherit the main thread's loader hooks, so it registers tsx before loading its entry (worker-entry.ts).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
