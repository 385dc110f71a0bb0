import { describe, expect, it } from 'vitest';
import { parseStartOptions, UsageError } from '../../local/start';

describe('parseStartOptions', () => {
  it('defaults to 12 accounts on port 4000, in memory, serving after the summary', () => {
    // Act
    const options = parseStartOptions([]);

    // Assert
    expect(options).toEqual({ accounts: 12, port: 4000, logLevel: 'ERROR', once: false });
  });

  it('reads every option', () => {
    // Act
    const options = parseStartOptions([
      '--accounts',
      '40',
      '--port',
      '0',
      '--data',
      '.local-data/db',
      '--scenario',
      'bench/scenarios/small.json',
      '--log-level',
      'warn',
      '--once',
    ]);

    // Assert
    expect(options).toEqual({
      accounts: 40,
      port: 0,
      dataDir: '.local-data/db',
      scenarioFile: 'bench/scenarios/small.json',
      logLevel: 'WARN',
      once: true,
    });
  });

  it.each([['--help'], ['-h']])('asks for the usage text with %s', (flag) => {
    // Act
    const options = parseStartOptions([flag]);

    // Assert
    expect(options).toBe('help');
  });

  it.each([
    [['--accounts', '0'], '--accounts 0 is not a whole number from 1 to 100000'],
    [['--accounts', '2.5'], '--accounts 2.5 is not a whole number from 1 to 100000'],
    [['--accounts', '100001'], '--accounts 100001 is not a whole number from 1 to 100000'],
    [['--port', 'abc'], '--port abc is not a whole number from 0 to 65530'],
    [['--port', '65531'], '--port 65531 is not a whole number from 0 to 65530'],
    [['--log-level', 'LOUD'], '--log-level LOUD is not one of DEBUG, INFO, WARN, ERROR, SILENT'],
    [['--colour'], "Unknown option '--colour'"],
    [['extra'], "Unexpected argument 'extra'"],
  ])('fails for %j with a one-line reason', (argv, message) => {
    // Act
    const parse = () => parseStartOptions(argv);

    // Assert
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});
