/**
 * The Handlebars side: a fresh Handlebars instance per templates folder with explicitly
 * registered helpers, every `.hbs` parsed, checked and compiled once and cached (until a file in
 * the folder changes), and errors that name the template file and line.
 *
 * Folder layout: `report.hbs` (the page), `partials/**.hbs` (partials, named by their path without
 * `.hbs`, e.g. `indicatorCard`), `*.css` (inlined into the page as `{{{@styles}}}`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import Handlebars from 'handlebars';
import { arrowSvg, escapeXml, sparklineSvg, statusIconSvg, trendChartSvg } from './charts.js';
import { formatInt } from './format.js';
import { MessageError, msg } from './messages.js';
import type { IndicatorModel, ReportModel } from './reportModel.js';
import { INDICATOR_BY_ID } from '../metrics/indicators.js';

export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${detail}`, options);
  }
}

type HbsInstance = typeof Handlebars;
type Loc = { source?: string; start?: { line: number; column: number } };
interface HelperOptions {
  hash: Record<string, unknown>;
  data: { root: ReportModel };
  loc?: Loc;
  name?: string;
}

const BUILTIN_HELPERS = ['if', 'unless', 'each', 'with', 'lookup', 'log', 'blockHelperMissing', 'helperMissing'];
/** Helpers whose first argument is an indicator id (checked when it is a literal). */
const INDICATOR_ID_HELPERS = new Set(['indicator', 'indicatorName']);

function fail(options: HelperOptions | undefined, detail: string, cause?: unknown): never {
  throw new TemplateError(options?.loc?.source ?? 'template', options?.loc?.start?.line, detail, { cause });
}

function lastArgIsOptions(args: unknown[]): HelperOptions {
  return args[args.length - 1] as HelperOptions;
}

function lookupIndicator(root: ReportModel, id: unknown, options: HelperOptions): IndicatorModel {
  if (typeof id !== 'string' || !INDICATOR_BY_ID.has(id)) fail(options, `unknown indicator id "${String(id)}"`);
  const ind = root.indicators[id];
  if (!ind) fail(options, `indicator "${id}" is not part of this report (see "indicators" in config/reports.yaml)`);
  return ind;
}

/** A CSS string literal (for @page margin boxes). */
export function cssString(s: string): string {
  // Backslash-escape quotes and backslashes; `<` as \3c so the string can never close the <style>.
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/</g, '\\3c ').replace(/[\n\r\f]/g, ' ')}"`;
}

function registerHelpers(hb: HbsInstance): void {
  const safe = (s: string) => new hb.SafeString(s);
  hb.registerHelper('helperMissing', function (...args: unknown[]) {
    const options = lastArgIsOptions(args);
    // `{{name}}` with no arguments and no value is an empty property, as in plain Handlebars.
    if (args.length === 1) return undefined;
    fail(options, `unknown helper "${options.name}"`);
  });
  hb.registerHelper('t', function (key: unknown, ...rest: unknown[]) {
    const options = lastArgIsOptions(rest);
    const root = options.data.root;
    try {
      return msg(root.messages, root.locale, String(key), options.hash);
    } catch (e) {
      if (e instanceof MessageError) fail(options, e.message, e);
      throw e;
    }
  });
  hb.registerHelper('indicator', function (id: unknown, options: HelperOptions) {
    return lookupIndicator(options.data.root, id, options);
  });
  hb.registerHelper('indicatorName', function (id: unknown, options: HelperOptions) {
    return lookupIndicator(options.data.root, id, options).name;
  });
  hb.registerHelper('int', function (n: unknown, options: HelperOptions) {
    return formatInt(typeof n === 'number' ? n : null, options.data.root.locale);
  });
  hb.registerHelper('statusIcon', function (status: unknown, options: HelperOptions) {
    return safe(statusIconSvg(String(status), Number(options.hash.size ?? 10)));
  });
  hb.registerHelper('arrow', function (change: unknown, options: HelperOptions) {
    const c = change as IndicatorModel['change'] | undefined;
    if (!c || typeof c !== 'object') fail(options, 'arrow expects an indicator\'s "change"');
    return safe(arrowSvg(c.arrow, c.tone, Number(options.hash.size ?? 8)));
  });
  hb.registerHelper('sparkline', function (ind: unknown, options: HelperOptions) {
    if (!ind || typeof ind !== 'object' || !('trend' in ind)) fail(options, 'sparkline expects an indicator');
    const i = ind as IndicatorModel;
    return safe(sparklineSvg(i, { width: Number(options.hash.width ?? 64), height: Number(options.hash.height ?? 16), label: `${i.name}: ${i.trendCaption}` }));
  });
  hb.registerHelper('trendChart', function (ind: unknown, options: HelperOptions) {
    if (!ind || typeof ind !== 'object' || !('trend' in ind)) fail(options, 'trendChart expects an indicator');
    const root = options.data.root;
    return safe(
      trendChartSvg(ind as IndicatorModel, {
        width: Number(options.hash.width ?? 330),
        height: Number(options.hash.height ?? 140),
        locale: root.locale,
        targetLabel: msg(root.messages, root.locale, 'labels.chartTarget'),
        warnLabel: msg(root.messages, root.locale, 'labels.chartWarn'),
        emptyLabel: msg(root.messages, root.locale, 'status.no_data'),
      }),
    );
  });
  /** `@page` margin-box content: a message with {page} and {pages} turned into CSS counters. */
  hb.registerHelper('cssPageCounter', function (key: unknown, options: HelperOptions) {
    const root = options.data.root;
    const text = msg(root.messages, root.locale, String(key));
    const out = text
      .split(/(\{pages?\})/)
      .filter((p) => p !== '')
      .map((p) => (p === '{page}' ? 'counter(page)' : p === '{pages}' ? 'counter(pages)' : cssString(p)))
      .join(' ');
    return safe(out);
  });
  hb.registerHelper('cssString', function (s: unknown) {
    return safe(cssString(String(s ?? '')));
  });
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  hb.registerHelper('gt', (a: unknown, b: unknown) => Number(a) > Number(b));
  hb.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
  hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hb.registerHelper('not', (a: unknown) => !a);
  hb.registerHelper('xml', (s: unknown) => escapeXml(String(s ?? '')));
}

/** Names of the helpers registered on every instance (for validation). */
export function helperNames(): string[] {
  const hb = Handlebars.create();
  registerHelpers(hb);
  return Object.keys(hb.helpers);
}

interface TemplateFile {
  rel: string;
  abs: string;
}

function listFiles(dir: string, ext: string): TemplateFile[] {
  const out: TemplateFile[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const abs = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'locales' && e.name !== 'node_modules') walk(abs);
      } else if (e.name.endsWith(ext)) out.push({ rel: relative(dir, abs).split(sep).join('/'), abs });
    }
  };
  walk(dir);
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}

type Node = { type?: string; loc?: { start?: { line: number } }; [k: string]: unknown };

/** Static checks on a parsed template: unknown helpers, partials and indicator ids, with lines. */
function checkAst(ast: unknown, file: string, helpers: Set<string>, partials: Set<string>): TemplateError[] {
  const problems: TemplateError[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    const line = n.loc?.start?.line;
    if (n.type === 'MustacheStatement' || n.type === 'BlockStatement' || n.type === 'SubExpression') {
      const path = n.path as { type: string; original: string; parts?: string[]; data?: boolean; depth?: number };
      const params = (n.params as unknown[]) ?? [];
      const hash = n.hash as { pairs?: unknown[] } | undefined;
      const isCall = params.length > 0 || (hash?.pairs?.length ?? 0) > 0 || n.type === 'SubExpression';
      const simple = path?.type === 'PathExpression' && !path.data && (path.parts?.length ?? 0) === 1 && !path.depth && !path.original.startsWith('this');
      if (isCall && simple && !helpers.has(path.original)) problems.push(new TemplateError(file, line, `unknown helper "${path.original}"`));
      if (simple && INDICATOR_ID_HELPERS.has(path.original)) {
        const first = params[0] as { type?: string; value?: string } | undefined;
        if (first?.type === 'StringLiteral' && !INDICATOR_BY_ID.has(first.value!)) problems.push(new TemplateError(file, line, `unknown indicator id "${first.value}"`));
      }
    }
    if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
      const name = n.name as { type: string; original?: string; value?: string };
      const pname = name.type === 'PathExpression' ? name.original : name.type === 'StringLiteral' ? name.value : undefined;
      if (pname !== undefined && pname !== '@partial-block' && !partials.has(pname)) problems.push(new TemplateError(file, line, `unknown partial "${pname}"`));
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'loc' && typeof v === 'object') visit(v);
  };
  visit(ast);
  return problems;
}

function parseFile(hb: HbsInstance, f: TemplateFile): { ast?: hbs.AST.Program; error?: TemplateError } {
  const text = readFileSync(f.abs, 'utf8');
  try {
    return { ast: hb.parse(text, { srcName: f.rel } as never) };
  } catch (e) {
    const err = e as Error & { lineNumber?: number };
    const line = err.lineNumber ?? Number(/on line (\d+)/.exec(err.message)?.[1] ?? NaN);
    const detail = err.message.replace(/^Parse error on line \d+:\s*/, 'syntax error: ').replace(/\n/g, ' ');
    return { error: new TemplateError(f.rel, Number.isFinite(line) ? line : undefined, detail, { cause: e }) };
  }
}

export interface CompiledTemplates {
  dir: string;
  render(model: ReportModel): string;
  styles: string;
}

const PARTIALS_DIR = 'partials/';

/** Every problem of a templates folder: syntax errors, unknown helpers, partials, indicator ids. */
export function checkTemplates(dir: string): TemplateError[] {
  return loadTemplates(dir, false).problems;
}

function loadTemplates(dir: string, throwOnProblem: boolean): { compiled?: CompiledTemplates; problems: TemplateError[] } {
  let files: TemplateFile[];
  try {
    files = listFiles(dir, '.hbs');
  } catch (e) {
    const err = new TemplateError(dir, undefined, `cannot read templates folder: ${(e as Error).message}`, { cause: e });
    if (throwOnProblem) throw err;
    return { problems: [err] };
  }
  const hb = Handlebars.create();
  registerHelpers(hb);
  const helpers = new Set([...BUILTIN_HELPERS, ...Object.keys(hb.helpers)]);
  const partialFiles = files.filter((f) => f.rel.startsWith(PARTIALS_DIR));
  const partialNames = new Set(partialFiles.map((f) => f.rel.slice(PARTIALS_DIR.length, -'.hbs'.length)));
  const problems: TemplateError[] = [];
  const main = files.find((f) => f.rel === 'report.hbs');
  if (!main) problems.push(new TemplateError(join(dir, 'report.hbs'), undefined, 'missing: the page template every templates folder needs'));
  const compiledFns = new Map<string, Handlebars.TemplateDelegate>();
  for (const f of files) {
    const { ast, error } = parseFile(hb, f);
    if (error) {
      problems.push(error);
      continue;
    }
    problems.push(...checkAst(ast, f.rel, helpers, partialNames));
    compiledFns.set(f.rel, hb.compile(ast!, { srcName: f.rel } as CompileOptions));
  }
  if (problems.length) {
    if (throwOnProblem) throw problems.length === 1 ? problems[0]! : new TemplateError(dir, undefined, `${problems.length} problems:\n  ${problems.map((p) => p.message).join('\n  ')}`);
    return { problems };
  }
  for (const f of partialFiles) hb.registerPartial(f.rel.slice(PARTIALS_DIR.length, -'.hbs'.length), compiledFns.get(f.rel)!);
  const styles = listFiles(dir, '.css')
    .filter((f) => !f.rel.includes('/'))
    .map((f) => readFileSync(f.abs, 'utf8'))
    .join('\n');
  const mainFn = compiledFns.get('report.hbs')!;
  return {
    problems,
    compiled: {
      dir,
      styles,
      render(model) {
        try {
          return mainFn(model, { data: { styles }, allowProtoPropertiesByDefault: false } as Handlebars.RuntimeOptions);
        } catch (e) {
          if (e instanceof TemplateError) throw e;
          const err = e as Error & { lineNumber?: number };
          throw new TemplateError('report.hbs', err.lineNumber, err.message, { cause: e });
        }
      },
    },
  };
}
type CompileOptions = Parameters<typeof Handlebars.compile>[1];

const cache = new Map<string, { signature: string; compiled: CompiledTemplates }>();

/** The folder's files with their modification times: a changed, added or removed file recompiles. */
function signature(dir: string): string {
  return [...listFiles(dir, '.hbs'), ...listFiles(dir, '.css')]
    .map((f) => {
      const s = statSync(f.abs);
      return `${f.rel}:${s.mtimeMs}:${s.size}`;
    })
    .join('|');
}

/** The compiled templates of a folder, compiled once and cached until one of its files changes. */
export function compileTemplates(dir: string): CompiledTemplates {
  let sig: string;
  try {
    sig = signature(dir);
  } catch (e) {
    throw new TemplateError(dir, undefined, `cannot read templates folder: ${(e as Error).message}`, { cause: e });
  }
  const hit = cache.get(dir);
  if (hit && hit.signature === sig) return hit.compiled;
  const { compiled } = loadTemplates(dir, true);
  cache.set(dir, { signature: sig, compiled: compiled! });
  return compiled!;
}
