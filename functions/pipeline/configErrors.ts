import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { z } from 'zod';

/** A configuration file that failed validation; `problems` lists every issue with its path. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`}`);
  }
}

export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
}

/** A config file's text; ConfigError naming the file when it cannot be read. */
export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
}

/** YAML text validated by a zod schema; every problem (and `extra` ones) listed with its path. */
export function parseYamlConfig<S extends z.ZodType>(text: string, file: string, schema: S, extra?: (raw: unknown) => string[]): z.infer<S> {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (e) {
    throw new ConfigError(file, [`YAML: ${(e as Error).message}`]);
  }
  const r = schema.safeParse(raw);
  const problems = [...(r.success ? [] : formatZodIssues(r.error)), ...(extra?.(raw) ?? [])];
  if (problems.length) throw new ConfigError(file, problems);
  return r.data as z.infer<S>;
}
