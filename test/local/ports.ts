/** Finding room on loopback for a stack whose servers sit at fixed offsets from a base port. */
import { createServer } from 'node:net';

/** Whether a port on 127.0.0.1 can be listened on right now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port whose next `span` ports are all free (checked, not reserved). */
export async function freeBasePort(span: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    // Below Linux's ephemeral range (32768 and up), where every outgoing socket and every
    // server on port 0 takes its port: a base there can be taken between check and listen.
    const base = 20_000 + Math.floor(Math.random() * (32_000 - 20_000 - span));
    const ports = Array.from({ length: span }, (_, offset) => base + offset);
    const free = await Promise.all(ports.map(canListen));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${span} consecutive free ports found`);
}
