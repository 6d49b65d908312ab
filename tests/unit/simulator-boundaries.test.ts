import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { topics } from '../../iot-simulator/topics.js';
import { commandsTopic, eventsTopic, statusTopic, telemetryTopic } from '../../domain/telemetry-topics.js';

const root = join(import.meta.dirname, '../../iot-simulator');
const sources = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));

describe('the iot-simulator is a device, not a part of the server', () => {
  it('imports only mqtt, node built-ins, its own files and the message types (import type)', () => {
    const refused: string[] = [];
    for (const file of sources) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
        const specifier = match[3] ?? match[4]!;
        const typeOnly = Boolean(match[2]);
        const allowed = specifier === 'mqtt' || specifier.startsWith('node:') || specifier.startsWith('./') || (typeOnly && specifier === '../domain/telemetry-message.js');
        if (!allowed) refused.push(`${file}: ${match[0].trim()}`);
      }
    }
    expect(sources.length).toBeGreaterThan(5);
    expect(refused).toEqual([]);
  });

  it('its topic layout is the server’s', () => {
    expect(topics('truck-7')).toEqual({ telemetry: telemetryTopic('truck-7'), events: eventsTopic('truck-7'), status: statusTopic('truck-7'), commands: commandsTopic('truck-7') });
  });
});
