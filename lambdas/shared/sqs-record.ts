import type { SQSRecord } from 'aws-lambda';

/** How often SQS has delivered this record, this delivery included. */
export const receivesOf = (record: SQSRecord): number =>
  Number(record.attributes.ApproximateReceiveCount ?? '1');
