/**
 * Reading what Powertools writes to stdout: EMF metric blobs and structured log lines. Both
 * libraries write through their own `Console` on `process.stdout`, so the capture spies on
 * `process.stdout.write` and parses each JSON line.
 */
import { vi } from 'vitest';

/** One EMF document as Powertools serialises it. */
export interface EmfBlob {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

export interface StdoutCapture {
  /** Every JSON line written since the capture started (or was cleared). */
  lines(): Record<string, unknown>[];
  /** The EMF documents among them. */
  blobs(): EmfBlob[];
  /** The log lines (JSON lines that are not EMF). */
  logs(): Record<string, unknown>[];
  clear(): void;
  restore(): void;
}

/** Starts capturing stdout; non-JSON output is dropped. */
export function captureStdout(): StdoutCapture {
  let chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    lines,
    blobs: () => lines().filter((line): line is EmfBlob => '_aws' in line),
    logs: () => lines().filter((line) => !('_aws' in line)),
    clear: () => {
      chunks = [];
    },
    restore: () => spy.mockRestore(),
  };
}

/** A metric datapoint as CloudWatch would file it: its name, dimension values and values. */
export interface Datapoint {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  values: number[];
}

/**
 * Every datapoint the blobs publish: one per metric and dimension set, the way CloudWatch
 * extracts them (a blob with two dimension sets files each metric twice).
 */
export function datapoints(blobs: EmfBlob[]): Datapoint[] {
  return blobs.flatMap((blob) =>
    blob._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Dimensions.flatMap((set) =>
        directive.Metrics.map((metric) => {
          const raw = blob[metric.Name];
          return {
            namespace: directive.Namespace,
            name: metric.Name,
            unit: metric.Unit,
            dimensions: Object.fromEntries(set.map((key) => [key, String(blob[key])])),
            values: (Array.isArray(raw) ? raw : [raw]).map(Number),
          };
        }),
      ),
    ),
  );
}

/** The sum of a metric's values filed under exactly these dimensions. */
export function sumOf(
  points: Datapoint[],
  name: string,
  dimensions: Record<string, string>,
): number {
  const key = JSON.stringify(Object.entries(dimensions).sort());
  return points
    .filter((point) => point.name === name)
    .filter((point) => JSON.stringify(Object.entries(point.dimensions).sort()) === key)
    .flatMap((point) => point.values)
    .reduce((sum, value) => sum + value, 0);
}
