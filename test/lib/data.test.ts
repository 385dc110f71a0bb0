import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { TABLES } from '../../lib/resources';
import { buildStack } from './stack';

const aws = buildStack();
const customer = buildStack({ stage: 'prod' });

const tableOf = (built: typeof aws, id: string) => {
  const table = built.stack.data.tables.get(id);
  if (!table) throw new Error(`no table ${id}`);
  const logicalId = built.stack.getLogicalId(table.node.defaultChild as never);
  return built.template.toJSON().Resources[logicalId] as {
    Properties: Record<string, unknown>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
  };
};

describe('Data', () => {
  it('creates one table per definition in lib/resources.ts', () => {
    aws.template.resourceCountIs('AWS::DynamoDB::Table', TABLES.length);
  });

  describe.each(TABLES.map((def) => [def.id, def] as const))('the %s table', (id, def) => {
    const table = tableOf(aws, id);

    it('bills on demand', () => {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    });

    it('has point-in-time recovery', () => {
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
    });

    it('is encrypted at rest', () => {
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
    });

    it('is retained when the stack is deleted or the table replaced', () => {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    });

    it('has the keys of its definition', () => {
      expect(table.Properties.KeySchema).toEqual([
        { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
        ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
    });

    it('expires items by the TTL attribute of its definition', () => {
      expect(table.Properties.TimeToLiveSpecification).toEqual(
        def.timeToLiveAttribute
          ? { AttributeName: def.timeToLiveAttribute, Enabled: true }
          : undefined,
      );
    });

    it('has the global indexes of its definition', () => {
      expect(table.Properties.GlobalSecondaryIndexes ?? []).toEqual(
        def.globalIndexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
            ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
          ],
          Projection: { ProjectionType: index.projection },
        })),
      );
    });
  });

  it('encrypts every table with the customer-managed key when configured', () => {
    const keys = customer.template.findResources('AWS::KMS::Key');
    const [keyId] = Object.keys(keys);

    customer.template.allResourcesProperties('AWS::DynamoDB::Table', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
    });
    customer.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    customer.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  it('keeps the AWS-managed key when configured so', () => {
    aws.template.resourceCountIs('AWS::KMS::Key', 0);
    aws.template.allResourcesProperties('AWS::DynamoDB::Table', {
      SSESpecification: Match.objectEquals({ SSEEnabled: true }),
    });
  });
});
