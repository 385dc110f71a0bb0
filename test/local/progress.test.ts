import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../local/progress';

function captureStream(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let written = '';
  stream.on('data', (chunk: Buffer) => {
    written += chunk.toString();
  });
  return { stream, written: () => written };
}

describe('createProgress', () => {
  it('rewrites one line in place on a terminal and ends it with a newline', () => {
    // Arrange
    const { stream, written } = captureStream(true);
    const progress = createProgress({ stream, redrawEveryMs: 0 });

    // Act
    progress.update('1/3');
    progress.update('2/3');
    progress.done('done');

    // Assert
    expect(written()).toBe('\r\x1b[2K1/3\r\x1b[2K2/3\r\x1b[2Kdone\n');
  });

  it('writes plain lines, without repeating an unchanged one, elsewhere', () => {
    // Arrange
    const { stream, written } = captureStream(false);
    const progress = createProgress({ stream, plainEveryMs: 0 });

    // Act
    progress.update('1/3');
    progress.update('1/3');
    progress.update('2/3');
    progress.done('done');

    // Assert
    expect(written()).toBe('1/3\n2/3\ndone\n');
  });

  it('holds back plain lines that come faster than its pace', () => {
    // Arrange
    const { stream, written } = captureStream(false);
    const progress = createProgress({ stream, plainEveryMs: 60_000 });

    // Act
    progress.update('1/3');
    progress.update('2/3');

    // Assert
    expect(written()).toBe('1/3\n');
  });
});
