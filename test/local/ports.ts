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
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: span }, (_, offset) => base + offset);
    const free = await Promise.all(ports.map(canListen));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${span} consecutive free ports found`);
}
