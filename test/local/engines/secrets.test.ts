import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSecrets, startSecretsEndpoint } from '../../../local/engines/secrets';

let secrets: RunningSecrets;
let client: SecretsManagerClient;

beforeAll(async () => {
  secrets = await startSecretsEndpoint({
    secrets: { 'momo-sync/provider': '{"apiUser":"u","apiKey":"k"}' },
  });
  client = new SecretsManagerClient({
    endpoint: secrets.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client.destroy();
  await secrets.close();
});

const read = (secretId: string) => client.send(new GetSecretValueCommand({ SecretId: secretId }));

describe('startSecretsEndpoint', () => {
  it('answers GetSecretValue by name with the secret string', async () => {
    // Act
    const secret = await read('momo-sync/provider');

    // Assert
    expect(secret).toMatchObject({
      Name: 'momo-sync/provider',
      SecretString: '{"apiUser":"u","apiKey":"k"}',
      ARN: secrets.arnOf('momo-sync/provider'),
      VersionStages: ['AWSCURRENT'],
    });
    expect(secret.CreatedDate).toBeInstanceOf(Date);
  });

  it('answers by ARN too', async () => {
    // Act
    const secret = await read(secrets.arnOf('momo-sync/provider'));

    // Assert
    expect(secret.Name).toBe('momo-sync/provider');
  });

  it('returns the new value after a put, as a new version', async () => {
    // Arrange
    secrets.put('momo-sync/rotating', 'one');
    const before = await read('momo-sync/rotating');

    // Act
    secrets.put('momo-sync/rotating', 'two');
    const after = await read('momo-sync/rotating');

    // Assert
    expect(after.SecretString).toBe('two');
    expect(after.VersionId).not.toBe(before.VersionId);
  });

  it('raises the SDK ResourceNotFoundException for an unknown secret', async () => {
    // Act
    const reading = read('momo-sync/missing');

    // Assert
    await expect(reading).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(reading).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('counts the reads it answered', async () => {
    // Arrange
    const before = secrets.reads();

    // Act
    await read('momo-sync/provider');

    // Assert
    expect(secrets.reads()).toBe(before + 1);
  });

  it('closes its port: a second endpoint starts on the same port', async () => {
    // Arrange
    const first = await startSecretsEndpoint();
    await first.close();

    // Act
    const second = await startSecretsEndpoint({ port: first.port });

    // Assert
    expect(second.port).toBe(first.port);
    await second.close();
  });
});
