/**
 * npm run schemas: writes config/schemas/*.schema.json from the zod schemas, for editors
 * (the YAML files point at them with a yaml-language-server comment), and metrics.schema.json, the
 * shape of every report's metrics.json for analysts' tools. A test keeps them current.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MappingSchema } from '../engine/mappings.js';
import { MetricsJsonSchema } from '../metrics/schema.js';
import { ReportsFileSchema } from '../pipeline/reportsConfig.js';
import { TargetsFileSchema } from '../pipeline/targets.js';

export const SCHEMA_DIR = join('config', 'schemas');

export function configSchemas(): Record<string, string> {
  const json = (schema: z.ZodType) => `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`;
  return {
    'targets.schema.json': json(TargetsFileSchema),
    'reports.schema.json': json(ReportsFileSchema),
    'mapping.schema.json': json(MappingSchema),
    // Not a config file: the shape of every report's metrics.json, for analysts' tools.
    'metrics.schema.json': `${JSON.stringify(z.toJSONSchema(MetricsJsonSchema, { io: 'output', unrepresentable: 'any' }), null, 2)}\n`,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [name, text] of Object.entries(configSchemas())) {
    writeFileSync(join(SCHEMA_DIR, name), text);
    process.stdout.write(`${join(SCHEMA_DIR, name)}\n`);
  }
}
