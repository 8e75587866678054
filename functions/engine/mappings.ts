/**
 * Source mappings (config/mappings/*.yaml): how a foreign CRM export becomes canonical tables.
 * A mapping names its raw sources (files or folders under the data folder) and gives, per
 * canonical table, one SQL SELECT over them that yields the canonical columns. The SELECTs use the
 * same portable Trino functions as the indicator queries (trinoCompat.ts).
 */
import { z } from 'zod';
import { parseYamlConfig, readConfigFile } from '../pipeline/configErrors.js';
import { TABLES } from '../pipeline/contract.js';

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier');

export const MappingSchema = z
  .object({
    description: z.string().optional(),
    /** Raw source name -> path of a file or folder, relative to the data folder. */
    sources: z.record(identifier, z.string().min(1)),
    /** Canonical table -> SELECT over the sources yielding its columns. */
    tables: z.partialRecord(z.enum(TABLES), z.string().regex(/^\s*(WITH|SELECT)\b/i, 'a SELECT statement')),
  })
  .strict()
  .superRefine((m, ctx) => {
    for (const name of Object.keys(m.sources)) {
      if ((TABLES as readonly string[]).includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['sources', name], message: 'a source may not be named like a canonical table' });
      }
    }
    if (Object.keys(m.tables).length === 0) ctx.addIssue({ code: 'custom', path: ['tables'], message: 'maps no table' });
  });

export type Mapping = z.infer<typeof MappingSchema> & { file: string };

export function parseMapping(text: string, file: string): Mapping {
  return { ...parseYamlConfig(text, file, MappingSchema), file };
}

export function loadMapping(file: string): Mapping {
  return parseMapping(readConfigFile(file), file);
}
