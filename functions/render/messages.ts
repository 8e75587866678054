/**
 * Locale message files (templates/locales/<locale>.json): every label, indicator name and
 * definition, status word and highlight sentence. A copied templates folder may carry its own
 * `locales/<locale>.json`; its keys override the built-in ones.
 *
 * A message is a string with `{name}` placeholders, or an object of plural forms
 * (`one`, `few`, `many`, `other`; Intl.PluralRules picks by the `count` parameter).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locale } from '../pipeline/reportsConfig.js';

export type Messages = { [key: string]: string | Messages };

export class MessageError extends Error {
  override name = 'MessageError';
}

/**
 * The templates folder (holding `default/` and `locales/`): REPORT_TEMPLATES_ROOT when set, else
 * the repository's templates/ (two levels above this file), else a templates/ beside a bundled
 * handler (`/var/task/templates` on Lambda).
 */
export const TEMPLATES_ROOT = resolveTemplatesRoot();

function resolveTemplatesRoot(): string {
  const fromEnv = process.env.REPORT_TEMPLATES_ROOT;
  if (fromEnv) return resolve(fromEnv);
  const candidates = [new URL('../../templates/', import.meta.url), new URL('./templates/', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((d) => existsSync(join(d, 'locales'))) ?? candidates[0]!;
}
export const BUILTIN_LOCALES_DIR = join(TEMPLATES_ROOT, 'locales');

/**
 * The templates folder a report definition names: a bare name is a folder of the repository's
 * templates/ (`default` -> templates/default); a path (`./analyst/templates`) is taken as is,
 * relative to the working directory.
 */
export function templatesDirFor(report: { template: string }): string {
  return /[\\/]/.test(report.template) || report.template.startsWith('.') ? resolve(report.template) : join(TEMPLATES_ROOT, report.template);
}

function isObject(v: unknown): v is Messages {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Messages, over: Messages): Messages {
  const out: Messages = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function readJson(file: string): Messages {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isObject(v)) throw new Error('not a JSON object');
    return v;
  } catch (e) {
    throw new MessageError(`${file}: ${(e as Error).message}`, { cause: e });
  }
}

const builtinCache = new Map<string, Messages>();

/** The built-in messages of a locale. */
export function builtinMessages(locale: Locale): Messages {
  let m = builtinCache.get(locale);
  if (!m) {
    m = readJson(join(BUILTIN_LOCALES_DIR, `${locale}.json`));
    builtinCache.set(locale, m);
  }
  return m;
}

/** The locale folders that may override the built-in messages for a templates folder. */
export function localeDirsFor(templatesDir: string): string[] {
  const dirs = [join(templatesDir, 'locales'), join(templatesDir, '..', 'locales')].map((d) => resolve(d));
  return [...new Set(dirs)].filter((d) => d !== resolve(BUILTIN_LOCALES_DIR) && existsSync(d));
}

/** Built-in messages overridden by those of the templates folder, if it has any. */
export function loadMessages(locale: Locale, templatesDir?: string): Messages {
  let m = builtinMessages(locale);
  if (templatesDir) {
    for (const dir of localeDirsFor(templatesDir).reverse()) {
      const f = join(dir, `${locale}.json`);
      if (existsSync(f)) m = deepMerge(m, readJson(f));
    }
  }
  return m;
}

export function lookup(messages: Messages, key: string): string | Messages | undefined {
  let cur: string | Messages | undefined = messages;
  for (const part of key.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

const pluralCache = new Map<string, Intl.PluralRules>();

/** The message `key` with `{placeholders}` filled in; throws MessageError when it does not exist. */
export function msg(messages: Messages, locale: string, key: string, params: Record<string, unknown> = {}): string {
  let m = lookup(messages, key);
  if (isObject(m) && typeof params.count === 'number') {
    let rules = pluralCache.get(locale);
    if (!rules) {
      rules = new Intl.PluralRules(locale);
      pluralCache.set(locale, rules);
    }
    const form = rules.select(params.count);
    m = m[form] ?? m.other;
  }
  if (typeof m !== 'string') throw new MessageError(`no message "${key}" for locale ${locale}`);
  return m.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** Every key path (a.b.c) of a message tree whose leaves are strings or plural objects. */
export function messageKeys(messages: Messages, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(messages)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isObject(v) && !('other' in v)) out.push(...messageKeys(v, path));
    else out.push(path);
  }
  return out;
}
