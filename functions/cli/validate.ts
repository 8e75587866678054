/**
 * npm run validate -- [--reports FILE] [--targets FILE] [--mappings DIR] [--templates DIR]
 *
 * Checks report definitions, targets, source mappings and every templates folder the reports
 * use (plus --templates) together, prints every problem as `file[:line]: problem`, and exits
 * non-zero when there is any. A templates folder is rendered in Handlebars strict mode against
 * complete sample models (templates/sample.metrics.json through the real model builder) in
 * every locale, so an unknown field, helper, partial or message key is found before any data is read.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parse } from 'yaml';
import { DuckDBInstance } from '@duckdb/node-api';
import { checkMappingSql, loadMapping, type Mapping } from '../engine/mappings.js';
import { ConfigError } from '../pipeline/configErrors.js';
import { LOCALES, type ReportsFile } from '../pipeline/reportsConfig.js';
import { builtinMessages, loadMessages, localeDirsFor, MessageError, messageKeys } from '../render/messages.js';
import { templatesDirFor } from '../render/renderReport.js';
import { checkTemplates, checkTemplatesStrict, templateSamples } from '../render/templates.js';
import { loadReports, loadTargets } from '../metrics/config.js';

export interface ValidateOptions {
  reports?: string;
  targets?: string;
  mappings?: string;
  templates?: string[];
}

export interface ValidationResult {
  problems: string[];
  checked: string[];
}

const rel = (p: string) => {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
};

function collect(problems: string[], fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) problems.push(...e.problems.map((p) => `${rel(e.file)}: ${p}`));
    else problems.push((e as Error).message);
  }
}

/** Keys in a templates folder's locale override that the built-in messages do not have (typos). */
function overrideProblems(templatesDir: string): string[] {
  const problems: string[] = [];
  for (const dir of localeDirsFor(templatesDir)) {
    for (const locale of LOCALES) {
      const file = join(dir, `${locale}.json`);
      if (!existsSync(file)) continue;
      let own: Record<string, unknown>;
      try {
        own = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        problems.push(`${rel(file)}: not valid JSON: ${(e as Error).message}`);
        continue;
      }
      const known = new Set(messageKeys(builtinMessages(locale)));
      for (const key of messageKeys(own as never)) if (!known.has(key)) problems.push(`${rel(file)}: unknown message key "${key}"`);
    }
  }
  return problems;
}

function rawTemplateRefs(file: string): { id: string; template: string }[] {
  try {
    const raw = parse(readFileSync(file, 'utf8')) as { reports?: { id?: unknown; template?: unknown }[] };
    return (Array.isArray(raw?.reports) ? raw.reports : []).map((r, i) => ({
      id: typeof r?.id === 'string' ? r.id : `#${i + 1}`,
      template: typeof r?.template === 'string' && r.template ? r.template : 'default',
    }));
  } catch {
    return [];
  }
}

export async function validateAll(o: ValidateOptions = {}): Promise<ValidationResult> {
  const problems: string[] = [];
  const checked: string[] = [];
  const reportsFile = o.reports ?? 'config/reports.yaml';
  let reports: ReportsFile | undefined;
  checked.push(reportsFile);
  collect(problems, () => {
    reports = loadReports(reportsFile);
  });

  const targetsFile = o.targets ?? 'config/targets.yaml';
  checked.push(targetsFile);
  collect(problems, () => loadTargets(targetsFile));

  const mappingsDir = o.mappings ?? 'config/mappings';
  const mappings: Mapping[] = [];
  if (existsSync(mappingsDir)) {
    for (const f of readdirSync(mappingsDir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = join(mappingsDir, f);
      checked.push(file);
      collect(problems, () => mappings.push(loadMapping(file)));
    }
  } else if (o.mappings) problems.push(`${o.mappings}: no such folder`);
  // Each table exactly one read-only SELECT over the declared sources: parsed by DuckDB, nothing run.
  if (mappings.length) {
    const conn = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      for (const m of mappings) {
        try {
          await checkMappingSql(conn, m);
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
    } finally {
      conn.closeSync();
    }
  }

  const folders = new Map<string, string>(); // dir -> who uses it
  // Even when reports.yaml is invalid, check the templates folders it names.
  const templateRefs = reports?.reports ?? rawTemplateRefs(reportsFile);
  for (const r of templateRefs) if (!folders.has(templatesDirFor(r))) folders.set(templatesDirFor(r), `report "${r.id}"`);
  for (const t of o.templates ?? []) folders.set(resolve(t), '--templates');
  for (const [dir, usedBy] of folders) {
    checked.push(rel(dir));
    if (!existsSync(dir)) {
      problems.push(`${rel(dir)}: templates folder not found (used by ${usedBy})`);
      continue;
    }
    problems.push(...overrideProblems(dir));
    const messageProblems: string[] = [];
    for (const locale of LOCALES) {
      try {
        loadMessages(locale, dir);
      } catch (e) {
        if (e instanceof MessageError) messageProblems.push(e.message);
        else throw e;
      }
    }
    problems.push(...messageProblems);
    // Rendered in strict mode against complete sample models in every locale (unless the messages cannot be read).
    const found = messageProblems.length ? checkTemplates(dir) : checkTemplatesStrict(dir, templateSamples(dir, reports?.reports.find((r) => templatesDirFor(r) === dir)));
    problems.push(...found.map((p) => `${rel(join(dir, p.file))}${p.line !== undefined ? `:${p.line}` : ''}: ${p.detail}`));
  }
  return { problems: [...new Set(problems)], checked };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cmd = new Command('validate')
    .description('Check reports, targets, mappings and templates together; list every problem.')
    .option('--reports <file>', 'report definitions', 'config/reports.yaml')
    .option('--targets <file>', 'targets file', 'config/targets.yaml')
    .option('--mappings <dir>', 'folder of source mappings', 'config/mappings')
    .option('--templates <dir...>', 'extra templates folder(s) to check')
    .parse(process.argv);
  const { problems, checked } = await validateAll(cmd.opts<ValidateOptions>());
  if (problems.length) {
    process.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`ok: ${checked.join(', ')}\n`);
  }
}
