import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR, configSchemas } from '../../functions/cli/schemas.js';

describe('JSON Schemas of the config files', () => {
  it.each(Object.entries(configSchemas()))('%s is up to date (npm run schemas)', (name, text) => {
    expect(readFileSync(join(SCHEMA_DIR, name), 'utf8')).toBe(text);
  });
});
