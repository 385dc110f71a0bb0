import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type CircuitState, type CircuitStore, INITIAL_CIRCUIT } from '../../core/circuit';
import { isConditionFailure } from './expressions';

/** Key of the provider circuit's item in the control table (lib/resources.ts CONTROL_TABLE). */
export const CIRCUIT_KEY = 'circuit#provider';

/**
 * The provider circuit as one item of the control table. Every write is a whole-item put guarded
 * by the version the writer read, so of two consumers deciding from the same state exactly one
 * succeeds: that is how the fleet agrees on who opens the circuit and who probes.
 */
export class DynamoCircuitStore implements CircuitStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly key: string = CIRCUIT_KEY,
  ) {}

  async read(): Promise<CircuitState> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: this.key }, ConsistentRead: true }),
    );
    if (Item === undefined) return { ...INITIAL_CIRCUIT };
    const { pk: _pk, ...state } = Item;
    return state as CircuitState;
  }

  async replace(next: CircuitState, expectedVersion: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...next, pk: this.key },
          // Version 0 is the circuit nobody wrote yet: only the first writer may create the item.
          ConditionExpression:
            expectedVersion === 0 ? 'attribute_not_exists(pk)' : '#version = :expected',
          ...(expectedVersion === 0
            ? {}
            : {
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
