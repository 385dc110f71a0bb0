import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/** Key of the fleet settings item in the control table (lib/resources.ts CONTROL_TABLE). */
export const FLEET_SETTINGS_KEY = 'settings#fleet';

/** Fleet-wide settings operators change at run time (`npm run ops -- frequency --fleet`). */
export interface FleetSettings {
  /** Sync interval of every account without its own override; absent means the rules decide. */
  syncIntervalMinutes?: number;
  updatedAt?: string;
  /** Who changed it last, as the operator's tool names them (never a user of the app). */
  updatedBy?: string;
}

/** The fleet settings as one item of the control table; it carries no TTL, so it never expires. */
export class DynamoFleetSettingsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly key: string = FLEET_SETTINGS_KEY,
  ) {}

  /** The current settings; an absent item means none are set. */
  async get(): Promise<FleetSettings> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: this.key } }),
    );
    if (Item === undefined) return {};
    const { pk: _pk, ...settings } = Item;
    return settings as FleetSettings;
  }

  /** Sets the fleet's sync interval, creating the item when needed. */
  async setSyncInterval(minutes: number, updatedBy: string, now = new Date()): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: this.key },
        UpdateExpression: 'SET syncIntervalMinutes = :minutes, updatedAt = :now, updatedBy = :by',
        ExpressionAttributeValues: {
          ':minutes': minutes,
          ':now': now.toISOString(),
          ':by': updatedBy,
        },
      }),
    );
  }

  /** Removes the fleet's sync interval; the adaptive rules decide again. */
  async clearSyncInterval(updatedBy: string, now = new Date()): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: this.key },
        UpdateExpression: 'REMOVE syncIntervalMinutes SET updatedAt = :now, updatedBy = :by',
        ExpressionAttributeValues: { ':now': now.toISOString(), ':by': updatedBy },
      }),
    );
  }
}
