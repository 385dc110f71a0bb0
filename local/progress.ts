/**
 * Progress of long work on the terminal: one line rewritten in place on a TTY, and on anything
 * else (a pipe, a CI log) plain lines, no more than one a second, so logs stay readable.
 */

export interface Progress {
  /** Shows the current state; cheap to call often. */
  update(text: string): void;
  /** Ends the display with a last line. */
  done(text: string): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Least milliseconds between two plain lines. Default 1000. */
  plainEveryMs?: number;
  /** Least milliseconds between two redraws on a TTY. Default 100. */
  redrawEveryMs?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

/** A progress display on a stream (default stdout). */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stdout;
  const tty = stream.isTTY === true;
  const every = tty ? (options.redrawEveryMs ?? 100) : (options.plainEveryMs ?? 1000);
  let last = '';
  let lastAt = 0;
  let drawn = false;
  return {
    update(text) {
      const now = Date.now();
      if (text === last || now - lastAt < every) return;
      last = text;
      lastAt = now;
      stream.write(tty ? `${CLEAR_LINE}${text}` : `${text}\n`);
      drawn = true;
    },
    done(text) {
      stream.write(tty && drawn ? `${CLEAR_LINE}${text}\n` : `${text}\n`);
      last = text;
    },
  };
}
