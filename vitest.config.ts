import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` talks to the real stack
// (PostgreSQL/PostGIS, Temporal dev server, Keycloak, MQTT) prepared once in globalSetup.
export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at a time: most integration files wait on PostgreSQL, Temporal or Keycloak, so a second one overlaps them.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['tests/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
