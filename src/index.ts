import { run } from './main.js';

// Exit explicitly: SDK keep-alive sockets or a dangling retry timer must not keep the step running.
await run();
process.exit();
