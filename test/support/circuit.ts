/**
 * An in-memory circuit store with the compare-and-set semantics of adapters/dynamodb/circuit.ts,
 * for tests that run many consumers against one circuit without a database.
 */
import { type CircuitState, type CircuitStore, INITIAL_CIRCUIT } from '../../core/circuit';

export class MemoryCircuitStore implements CircuitStore {
  state: CircuitState = { ...INITIAL_CIRCUIT };
  reads = 0;
  /** Writes accepted, in order. */
  readonly writes: CircuitState[] = [];

  async read(): Promise<CircuitState> {
    this.reads += 1;
    return structuredClone(this.state);
  }

  async replace(next: CircuitState, expectedVersion: number): Promise<boolean> {
    if (this.state.version !== expectedVersion) return false;
    this.state = structuredClone(next);
    this.writes.push(structuredClone(next));
    return true;
  }
}
