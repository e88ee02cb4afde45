import { startServerProcess } from './server-process.js';
const s = await startServerProcess({ logLevel: 'warn' });
await new Promise((r) => setTimeout(r, 25000));
await s.stop(); process.exit(0);
