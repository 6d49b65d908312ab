import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';

const valid = {
  DATABASE_URL: 'postgresql://app:pw@db:5432/safeshipper',
  TEMPORAL_ADDRESS: 'temporal:7233',
  OIDC_ISSUER: 'https://id.example.com/realms/safeshipper',
  OIDC_AUDIENCE: 'safeshipper-api',
  OIDC_ALLOWED_CLIENTS: 'safeshipper-web, safeshipper-integrations',
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  AUDIT_CHECKPOINT_KEY: randomBytes(32).toString('base64'),
};

describe('configuration is validated once at start', () => {
  it('accepts a complete environment and fills only non-secret defaults', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({ OIDC_ALLOWED_CLIENTS: ['safeshipper-web', 'safeshipper-integrations'], NODE_ENV: 'production', API_PORT: 3100, MQTT_PORT: 1883, TEMPORAL_NAMESPACE: 'default', DATABASE_POOL_SIZE: 10 });
  });

  it('has no default for any secret or endpoint: each missing one is named', () => {
    expect(() => loadConfig({})).toThrow(
      [
        'invalid configuration (fix these environment variables):',
        '  DATABASE_URL: must be a postgresql:// URL',
        '  TEMPORAL_ADDRESS: Invalid input: expected string, received undefined',
        '  OIDC_ISSUER: must be the Keycloak realm URL, e.g. https://id.example.com/realms/safeshipper',
        '  OIDC_AUDIENCE: Invalid input: expected string, received undefined',
        '  OIDC_ALLOWED_CLIENTS: is required: the client ids whose tokens the API accepts, comma-separated (e.g. safeshipper-web,safeshipper-integrations)',
        '  DATA_ENCRYPTION_KEY: is required: 32 random bytes, base64 (openssl rand -base64 32)',
        '  AUDIT_CHECKPOINT_KEY: is required: 32 random bytes, base64 (openssl rand -base64 32)',
      ].join('\n'),
    );
    expect(() => loadConfig({ ...valid, DATA_ENCRYPTION_KEY: undefined })).toThrow('DATA_ENCRYPTION_KEY: is required: 32 random bytes, base64 (openssl rand -base64 32)');
  });

  it('rejects values that are present but wrong, saying what is expected', () => {
    expect(() => loadConfig({ ...valid, DATA_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow('DATA_ENCRYPTION_KEY: must be 32 bytes, base64-encoded');
    expect(() => loadConfig({ ...valid, DATABASE_URL: 'mysql://x' })).toThrow('DATABASE_URL: must be a postgresql:// URL');
    expect(() => loadConfig({ ...valid, TEMPORAL_ADDRESS: 'temporal' })).toThrow('TEMPORAL_ADDRESS: must be host:port');
    expect(() => loadConfig({ ...valid, API_PORT: '99999' })).toThrow('API_PORT');
    expect(() => loadConfig({ ...valid, OIDC_ALLOWED_CLIENTS: ' , ' })).toThrow('OIDC_ALLOWED_CLIENTS: must name at least one client id');
  });
});
