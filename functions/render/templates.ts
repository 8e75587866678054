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
import { fileURLToPath } from 'node:url';
import { formatInt } from './format.js';
import { loadMessages, lookup, MessageError, msg } from './messages.js';
import { buildReportModel, type IndicatorModel, type ReportModel } from './reportModel.js';
import { INDICATOR_BY_ID } from '../metrics/indicators.js';
import { parseMetricsJsonText, type MetricsJson } from '../metrics/schema.js';
import { LOCALES, ReportDefSchema, type ReportDef } from '../pipeline/reportsConfig.js';

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

/** Handlebars' grammar tokens as a reader knows them. */
const TOKEN_WORDS: Record<string, string> = {
  CLOSE: '"}}"',
  CLOSE_UNESCAPED: '"}}}"',
  CLOSE_SEXPR: '")"',
  OPEN_ENDBLOCK: 'a closing {{/…}}',
  INVERSE: '{{else}}',
  OPEN_INVERSE_CHAIN: '{{else …}}',
  EQUALS: '"="',
  SEP: '"." or "/"',
  EOF: 'the end of the file',
  INVALID: 'an unexpected character',
  OPEN_BLOCK_PARAMS: '"as |…|"',
};
const VALUE_TOKENS = new Set(['ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA']);

/** The block opened last and never closed (`{{#if}}` on line 3), from the text itself. */
function unclosedBlock(text: string): { name: string; line: number } | undefined {
  const noComments = text.replace(/\{\{!--[\s\S]*?--\}\}|\{\{![\s\S]*?\}\}/g, (c) => c.replace(/[^\n]/g, ' '));
  const stack: { name: string; line: number }[] = [];
  for (const mt of noComments.matchAll(/\{\{~?\s*([#^/])\s*>?\s*([^\s}~]+)/g)) {
    const line = noComments.slice(0, mt.index).split('\n').length;
    if (mt[1] === '/') stack.pop();
    else stack.push({ name: mt[2]!, line });
  }
  return stack.pop();
}

/** A Handlebars parse error in plain words: what was found where, not the grammar's token dump. */
export function plainParseError(message: string, text: string): { line?: number; detail: string } {
  const mismatch = /^(\S+) doesn't match (\S+) - (\d+):\d+/.exec(message);
  if (mismatch) return { line: Number(mismatch[3]), detail: `syntax error: {{#${mismatch[1]}}} is closed by {{/${mismatch[2]}}}` };
  const parse = /^Parse error on line (\d+):\n(.*)\n-*\^\nExpecting (.*), got '(\w+)'/.exec(message);
  if (parse) {
    const [, line, near, expecting, got] = parse;
    const expected = expecting!.split(', ').map((t) => t.replace(/'/g, ''));
    if (got === 'EOF') {
      const open = unclosedBlock(text);
      if (open) return { line: open.line, detail: `syntax error: {{#${open.name}}} is never closed (no {{/${open.name}}} before the end of the file)` };
    }
    const words = [...new Set(expected.map((t) => (VALUE_TOKENS.has(t) ? 'a name or value' : TOKEN_WORDS[t])).filter((w): w is string => w !== undefined))];
    const want = words.length ? words.slice(0, 3).join(' or ') : 'something else';
    return { line: Number(line), detail: `syntax error: found ${TOKEN_WORDS[got!] ?? got} where ${want} was expected, near "${near!.trim()}"` };
  }
  const lexical = /^Lexical error on line (\d+)\. Unrecognized text\./.exec(message);
  if (lexical) return { line: Number(lexical[1]), detail: 'syntax error: unrecognized text (an unclosed {{!-- comment --}} or {{ … }}?)' };
  const at = / - (\d+):\d+$/.exec(message);
  return { line: at ? Number(at[1]) : undefined, detail: `syntax error: ${message.replace(/ - \d+:\d+$/, '').replace(/\s*\n\s*/g, ' ')}` };
}

function parseFile(hb: HbsInstance, f: TemplateFile): { ast?: hbs.AST.Program; error?: TemplateError } {
  const text = readFileSync(f.abs, 'utf8');
  try {
    return { ast: hb.parse(text, { srcName: f.rel } as never) };
  } catch (e) {
    const { line, detail } = plainParseError((e as Error).message, text);
    return { error: new TemplateError(f.rel, line, detail, { cause: e }) };
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

interface Loaded {
  compiled?: CompiledTemplates;
  problems: TemplateError[];
  /** Every parsed file (by path in the folder) and the partial names. */
  asts: Map<string, hbs.AST.Program>;
  partialNames: Set<string>;
}

function loadTemplates(dir: string, throwOnProblem: boolean): Loaded {
  let files: TemplateFile[];
  try {
    files = listFiles(dir, '.hbs');
  } catch (e) {
    const err = new TemplateError(dir, undefined, `cannot read templates folder: ${(e as Error).message}`, { cause: e });
    if (throwOnProblem) throw err;
    return { problems: [err], asts: new Map(), partialNames: new Set() };
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
  const asts = new Map<string, hbs.AST.Program>();
  for (const f of files) {
    const { ast, error } = parseFile(hb, f);
    if (error) {
      problems.push(error);
      continue;
    }
    asts.set(f.rel, ast!);
    problems.push(...checkAst(ast, f.rel, helpers, partialNames));
    compiledFns.set(f.rel, hb.compile(ast!, { srcName: f.rel } as CompileOptions));
  }
  if (problems.length) {
    if (throwOnProblem) throw problems.length === 1 ? problems[0]! : new TemplateError(dir, undefined, `${problems.length} problems:\n  ${problems.map((p) => p.message).join('\n  ')}`);
    return { problems, asts, partialNames };
  }
  for (const f of partialFiles) hb.registerPartial(f.rel.slice(PARTIALS_DIR.length, -'.hbs'.length), compiledFns.get(f.rel)!);
  const styles = listFiles(dir, '.css')
    .filter((f) => !f.rel.includes('/'))
    .map((f) => readFileSync(f.abs, 'utf8'))
    .join('\n');
  const mainFn = compiledFns.get('report.hbs')!;
  return {
    problems,
    asts,
    partialNames,
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

// ---------------------------------------------------------------------------------------------
// Strict check: every template rendered in Handlebars strict mode against complete sample models.

/** The sample metrics.json the templates are checked against (the real pipeline's output on the sample data). */
export const SAMPLE_METRICS_FILE = fileURLToPath(new URL('../../templates/sample.metrics.json', import.meta.url));

/** Helpers whose first argument is a message key (checked when it is a literal). */
const MESSAGE_KEY_HELPERS = new Set(['t', 'cssPageCounter']);

/** A report model to render the templates with, and what it is (for messages). */
export interface TemplateSample {
  label: string;
  model: ReportModel;
}

type AstNode = Node & { path?: { type: string; original: string; parts?: string[] }; params?: unknown[] };

function walk(ast: unknown, fn: (n: AstNode) => void): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    fn(node as AstNode);
    for (const [k, v] of Object.entries(node)) if (k !== 'loc' && typeof v === 'object') visit(v);
  };
  visit(ast);
}

/** Literal message keys a template uses (`{{t "labels.x"}}`, `(t "labels.x")`), with their lines. */
function messageKeyRefs(ast: unknown): { key: string; line?: number }[] {
  const out: { key: string; line?: number }[] = [];
  walk(ast, (n) => {
    if (n.type !== 'MustacheStatement' && n.type !== 'SubExpression' && n.type !== 'BlockStatement') return;
    if (n.path?.type !== 'PathExpression' || !MESSAGE_KEY_HELPERS.has(n.path.original)) return;
    const first = n.params?.[0] as { type?: string; value?: string } | undefined;
    if (first?.type === 'StringLiteral') out.push({ key: first.value!, line: n.loc?.start?.line });
  });
  return out;
}

/** The paths (`period.lable`) of a template that name `part`, with their lines: on `line` only when given. */
function pathsNaming(ast: unknown, part: string, line?: number, minIndex = 0): { original: string; line?: number; index: number }[] {
  const out: { original: string; line?: number; index: number }[] = [];
  walk(ast, (n) => {
    if (n.type !== 'PathExpression') return;
    const parts = (n as unknown as { parts: string[] }).parts;
    const index = parts.indexOf(part);
    if (index < minIndex || (line !== undefined && n.loc?.start?.line !== line)) return;
    out.push({ original: (n as unknown as { original: string }).original, line: n.loc?.start?.line, index });
  });
  return out;
}

const FILE = Symbol('template file');

interface CompilerClass {
  new (): object;
  prototype: { nameLookup(parent: unknown, name: string, type: string): unknown; compiler: unknown };
}

/**
 * Strict mode reads a path inside a helper's argument (`{{#if gate.held}}`) without a null check,
 * so a missing or null `gate` would throw a TypeError there, which plain Handlebars tolerates and a
 * template may rightly rely on. This instance's compiler reads each part of a path only when its
 * parent exists; the last part of a printed path is still checked (`"lable" not defined in …`).
 */
function nullSafeLookups(hb: HbsInstance): void {
  const Base = (hb as unknown as { JavaScriptCompiler: CompilerClass }).JavaScriptCompiler;
  function NullSafe(this: object) {
    Base.call(this);
  }
  NullSafe.prototype = Object.create(Base.prototype);
  NullSafe.prototype.compiler = NullSafe;
  NullSafe.prototype.nameLookup = function (parent: unknown, name: string, type: string) {
    const code = Base.prototype.nameLookup.call(this, parent, name, type);
    return type === 'context' || type === 'data' ? ['(', parent, ' != null ? ', code, ' : undefined)'] : code;
  };
  (hb as unknown as { JavaScriptCompiler: unknown }).JavaScriptCompiler = NullSafe;
}

/** What went wrong while rendering a sample, as problems with file and line. */
function strictProblems(e: unknown, asts: Map<string, hbs.AST.Program>, sample: string): TemplateError[] {
  if (e instanceof TemplateError) return [e];
  const err = e as Error & { lineNumber?: number; [FILE]?: string };
  const file = err[FILE] ?? 'report.hbs';
  const missing = /^"([^"]+)" not defined in/.exec(err.message ?? '');
  if (missing) {
    const path = pathsNaming(asts.get(file), missing[1]!, err.lineNumber)[0]?.original ?? missing[1]!;
    return [new TemplateError(file, err.lineNumber, `unknown field "${path}" (not in the report model)`, { cause: e })];
  }
  // A path whose parent is missing, in a helper's argument ({{#if a.b}} without an "a"): every path naming that field.
  const reading = /Cannot read properties of (?:undefined|null) \(reading '([^']+)'\)/.exec(err.message ?? '');
  if (reading) {
    const found = [...asts].flatMap(([f, ast]) => pathsNaming(ast, reading[1]!, undefined, 1).map((p) => ({ f, ...p })));
    if (found.length)
      return found.map((p) => new TemplateError(p.f, p.line, `unknown field "${p.original}": "${p.original.split(/[./]/).slice(0, p.index).join('.')}" is not in the report model`, { cause: e }));
  }
  return [new TemplateError(file, err.lineNumber, `${err.message} (rendering ${sample})`, { cause: e })];
}

/**
 * Every problem of a templates folder, found by rendering it: the static checks of checkTemplates,
 * then every literal message key against each sample's messages, then each sample rendered in
 * Handlebars strict mode, where a field the model does not have is an error with file and line.
 * Optional fields stay legal in `{{#if x}}`, `{{#each x}}` and other helper arguments (strict mode
 * checks only what is printed), so the samples must be complete: see templateSamples.
 */
export function checkTemplatesStrict(dir: string, samples: TemplateSample[]): TemplateError[] {
  const loaded = loadTemplates(dir, false);
  if (loaded.problems.length) return loaded.problems;
  const problems: TemplateError[] = [];
  const byLocale = new Map(samples.map((x) => [x.model.locale, x.model.messages]));
  for (const [rel, ast] of loaded.asts) {
    for (const { key, line } of messageKeyRefs(ast)) {
      const missingIn = [...byLocale].filter(([, m]) => {
        const v = lookup(m, key);
        return typeof v !== 'string' && !(v && typeof v === 'object' && 'other' in v);
      });
      if (missingIn.length) problems.push(new TemplateError(rel, line, `unknown message key "${key}" (not in ${missingIn.map(([l]) => `locales/${l}.json`).join(', ')})`));
    }
  }
  const hb = Handlebars.create();
  registerHelpers(hb);
  nullSafeLookups(hb);
  // Each template's function notes its file on an error passing through it (the innermost partial wins).
  const tagged = (rel: string, fn: Handlebars.TemplateDelegate): Handlebars.TemplateDelegate => (ctx, opts) => {
    try {
      return fn(ctx, opts);
    } catch (e) {
      if (e && typeof e === 'object' && !(FILE in e)) (e as { [FILE]?: string })[FILE] = rel;
      throw e;
    }
  };
  const compile = (rel: string) => tagged(rel, hb.compile(loaded.asts.get(rel)!, { srcName: rel, strict: true } as CompileOptions));
  for (const rel of loaded.asts.keys()) if (rel.startsWith(PARTIALS_DIR)) hb.registerPartial(rel.slice(PARTIALS_DIR.length, -'.hbs'.length), compile(rel));
  const main = compile('report.hbs');
  for (const sample of samples) {
    try {
      main(sample.model, { data: { styles: loaded.compiled!.styles }, allowProtoPropertiesByDefault: false } as Handlebars.RuntimeOptions);
    } catch (e) {
      problems.push(...strictProblems(e, loaded.asts, sample.label));
    }
  }
  // A key already reported as unknown is not reported again by each locale's render.
  const seen = new Set(problems.flatMap((p) => (/^unknown message key "([^"]+)"/.exec(p.detail) ? [`${p.file}:${p.line}: no message "${RegExp.$1}"`] : [])));
  return problems.filter((p) => {
    const key = p.message.replace(/ for locale \S+$/, '');
    if (seen.has(key) || seen.has(p.message)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The sample metrics with every optional part of the page present: each status, low-sample
 * figures and segments, a missing value and a missing previous value, a failed export, a missing
 * column, a stale, an empty and a missing table, rejected records. Only for checking templates.
 */
export function completeSample(m: MetricsJson): MetricsJson {
  const c: MetricsJson = structuredClone(m);
  const ids = Object.keys(c.indicators);
  const statuses = ['met', 'at_risk', 'missed', 'no_target', 'no_data'] as const;
  statuses.forEach((status, k) => {
    const r = c.indicators[ids[k]!];
    if (!r) return;
    r.status = status;
    if (status === 'no_data') Object.assign(r, { value: null, n: 0, previous: null, yearAgo: null });
  });
  const low = c.indicators[ids[5]!];
  if (low) Object.assign(low, { lowSample: true, n: Math.min(low.n, 5), previous: null });
  for (const byValue of Object.values(c.segments)) {
    const first = Object.values(byValue)[0];
    const entry = first && Object.values(first)[0];
    if (entry) entry.lowSample = true;
  }
  const dq = c.dataQuality;
  const [a, b, d, e, f] = Object.keys(dq) as (keyof MetricsJson['dataQuality'])[];
  dq[a!] = { ...dq[a!], missingColumns: [...dq[a!].missingColumns, 'sample_column'], failedFiles: [{ file: 'raw/sample/dt=2026-10-01/sample.csv', error: 'not a CSV file' }], rejected: { ...dq[a!].rejected, bad_value: 3 } };
  dq[b!] = { ...dq[b!], newestUpdatedAt: new Date(Date.parse(c.period.start) - 90 * 86_400_000).toISOString() };
  dq[d!] = { ...dq[d!], recordsUsed: 0, newestUpdatedAt: null };
  dq[e!] = { present: false, rowsRead: 0, duplicatesDropped: 0, rejected: {}, recordsUsed: 0, newestUpdatedAt: null, missingColumns: [], failedFiles: [] };
  void f;
  return c;
}

/** The sample models a templates folder is checked with: the sample metrics as is and complete, in every locale. */
export function templateSamples(dir: string, report?: ReportDef): TemplateSample[] {
  const def = report ?? ReportDefSchema.parse({ id: 'template-check', title: 'Template check', timezone: 'UTC' });
  const metrics = parseMetricsJsonText(readFileSync(SAMPLE_METRICS_FILE, 'utf8'), SAMPLE_METRICS_FILE);
  const variants: [string, MetricsJson][] = [
    ['the sample metrics', metrics],
    ['the complete sample', completeSample(metrics)],
  ];
  return LOCALES.flatMap((locale) => {
    const messages = loadMessages(locale, dir);
    return variants.map(([label, m]) => ({ label: `${label} in ${locale}`, model: buildReportModel(m, def, locale, messages) }));
  });
}

/**
 * Throws a TemplateError listing every problem of a templates folder found by checkTemplatesStrict
 * (`npm run report` calls it before reading any data): about a second for the default folder.
 */
export function assertTemplatesStrict(dir: string, report?: ReportDef): void {
  // Each problem names its file by its path from the working directory.
  const problems = checkTemplatesStrict(dir, templateSamples(dir, report)).map((p) => {
    const file = relative(process.cwd(), join(dir, p.file));
    return new TemplateError(file.startsWith('..') ? join(dir, p.file) : file, p.line, p.detail, { cause: p });
  });
  if (problems.length === 1) throw problems[0]!;
  if (problems.length) throw new TemplateError(dir, undefined, `${problems.length} template problems:\n  ${problems.map((p) => p.message).join('\n  ')}`);
}
