/**
 * Source mappings (config/mappings/*.yaml): how a foreign CRM export becomes canonical tables.
 * A mapping names its raw sources (files or folders under the data folder, with the encoding,
 * delimiter, sheet and per-column formats of a foreign export) and gives, per canonical table,
 * one SQL SELECT over them that yields the canonical columns.
 *
 * A mapping is user input run by the engine, so it is sandboxed:
 * - when loaded (parseMapping): sources are relative paths without `..`; declared formats are
 *   checked (patterns, IANA zones); every function a SELECT calls must be portable
 *   (trinoCompat.ts), each refusal naming the file, the table, the function and its line;
 * - when run (checkMappingSql, resolveSourceFiles, called by duckdbEngine.ts): each table is
 *   exactly one read-only SELECT (DuckDB's own parser, json_serialize_sql, accepts nothing else)
 *   that reads only the declared sources, whose files resolve inside the data folder (symbolic
 *   links included); the DuckDB session itself can reach only the data folder and temp files.
 *
 * Declared formats turn foreign values into contract values before the SELECT sees them
 * (formattedSourceSelect): local date-times in a pattern such as `dd.MM.yyyy HH:mm` become ISO-8601
 * instants (IANA zone, DST included), decimal commas become dots, yes/no words become true/false,
 * with portable SQL only, so DuckDB and Trino give the same values.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, isValidTimeZone, parseYamlConfig, readConfigFile } from '../pipeline/configErrors.js';
import { TABLES, type TableName } from '../pipeline/contract.js';
import { parseDelimiter, parseEncoding } from './decode.js';
import { ExportError, SOURCE_DELIMITERS, SOURCE_ENCODINGS, type SourceOptions } from './exportReader.js';
import { quoteIdent, sqlString } from './tableSql.js';
import { nonPortableCalls, sqlCode } from './trinoCompat.js';

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier');

/** Why a source path may not be used (absolute, or climbing out with `..`); null when fine. */
function sourcePathProblem(p: string): string | null {
  if (isAbsolute(p) || /^[A-Za-z]:/.test(p) || p.startsWith('\\') || p.startsWith('~')) return 'must be relative to the data folder (--data): an absolute path is refused';
  if (p.split(/[\\/]+/).includes('..')) return 'climbs out of the data folder with ..: refused';
  return null;
}

/** The date-time fields a timestamp pattern may use, with the regular expression of each. */
const PATTERN_FIELDS: Record<string, { field: 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second'; re: string; pad: boolean }> = {
  yyyy: { field: 'year', re: '([0-9]{4})', pad: false },
  MM: { field: 'month', re: '(0[1-9]|1[0-2])', pad: false },
  M: { field: 'month', re: '(0?[1-9]|1[0-2])', pad: true },
  dd: { field: 'day', re: '(0[1-9]|[12][0-9]|3[01])', pad: false },
  d: { field: 'day', re: '(0?[1-9]|[12][0-9]|3[01])', pad: true },
  HH: { field: 'hour', re: '([01][0-9]|2[0-3])', pad: false },
  H: { field: 'hour', re: '([01]?[0-9]|2[0-3])', pad: true },
  mm: { field: 'minute', re: '([0-5][0-9])', pad: false },
  ss: { field: 'second', re: '([0-5][0-9])', pad: false },
};

interface TimestampPattern {
  /** Anchored regular expression (\A … \z) with one group per field. */
  re: string;
  /** Field -> its group number and whether it may be one digit. */
  groups: Partial<Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', { group: number; pad: boolean }>>;
}

/**
 * A timestamp pattern in the java.time / Excel style: yyyy, MM or M, dd or d, HH or H, mm, ss,
 * other characters literal (text in single quotes is literal too: `yyyy-MM-dd'T'HH:mm`).
 * Throws an Error with the reason when it is not one we can read.
 */
export function parseTimestampPattern(pattern: string): TimestampPattern {
  let re = '';
  const groups: TimestampPattern['groups'] = {};
  let n = 0;
  const literal = (c: string) => (/[A-Za-z0-9\s]/.test(c) || c.charCodeAt(0) > 127 ? c : `\\${c}`);
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed quote in "${pattern}"`);
      for (const q of pattern.slice(i + 1, end)) re += literal(q);
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      const token = pattern.slice(i, j);
      const def = PATTERN_FIELDS[token];
      if (!def) throw new Error(`unknown field "${token}" in "${pattern}" (use yyyy, MM or M, dd or d, HH or H, mm, ss; quote literal letters)`);
      if (groups[def.field]) throw new Error(`the ${def.field} appears twice in "${pattern}"`);
      groups[def.field] = { group: ++n, pad: def.pad };
      re += def.re;
      i = j;
      continue;
    }
    re += literal(c);
    i++;
  }
  for (const f of ['year', 'month', 'day'] as const) if (!groups[f]) throw new Error(`"${pattern}" has no ${f} (${f === 'year' ? 'yyyy' : f === 'month' ? 'MM' : 'dd'})`);
  if (groups.hour && !groups.minute) throw new Error(`"${pattern}" has hours but no minutes (mm)`);
  if (groups.minute && !groups.hour) throw new Error(`"${pattern}" has minutes but no hours (HH)`);
  if (groups.second && !groups.minute) throw new Error(`"${pattern}" has seconds but no minutes (mm)`);
  return { re: `\\A${re}\\z`, groups };
}

const wordList = z.array(z.string().min(1)).min(1, 'at least one word, as a list: [Да]');

/**
 * How one column of a foreign export writes its values: exactly one of `timestamp` (with an
 * optional `timezone`), `decimal` or `bool`.
 */
const ColumnFormatSchema = z
  .object({
    /** Local date-time pattern, e.g. `dd.MM.yyyy HH:mm` or `yyyy/MM/dd HH:mm:ss`. */
    timestamp: z
      .string()
      .min(1)
      .superRefine((p, ctx) => {
        try {
          parseTimestampPattern(p);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      })
      .optional()
      .describe('a local date-time written in this pattern: yyyy, MM or M, dd or d, HH or H, mm, ss; other characters literal (e.g. dd.MM.yyyy HH:mm, yyyy/MM/dd HH:mm:ss)'),
    /** IANA zone of the local times of `timestamp` (DST applied); default UTC. */
    timezone: z
      .string()
      .refine(isValidTimeZone, { message: 'unknown IANA time zone (e.g. Europe/Moscow, Asia/Shanghai)' })
      .optional()
      .describe('IANA time zone of the local times (daylight saving applied), default UTC'),
    /** `,`: a decimal comma (`1 234,5` is 1234.5; spaces and no-break spaces group thousands). */
    decimal: z
      .string()
      .refine((d) => d === ',', { message: 'the decimal separator: "," (a dot needs no format)' })
      .optional()
      .describe('"," for decimal commas (1 234,5 is 1234.5; spaces and no-break spaces group thousands)'),
    /** The words meaning true and false, matched case-insensitively, e.g. { true: [Да], false: [Нет] }. */
    bool: z
      .object({ true: wordList, false: wordList })
      .strict()
      .optional()
      .describe('the words meaning true and false, any case, e.g. { true: [Да], false: [Нет] }'),
  })
  .strict()
  .superRefine((f, ctx) => {
    const kinds = (['timestamp', 'decimal', 'bool'] as const).filter((k) => f[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `give exactly one of timestamp, decimal, bool (found ${kinds.length ? kinds.join(', ') : 'none'})` });
    if (f.timezone !== undefined && f.timestamp === undefined) ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'applies to a timestamp format only' });
  });

export type ColumnFormat = z.infer<typeof ColumnFormatSchema>;

const SourceObjectSchema = z
  .object({
    /** File or folder relative to the data folder. */
    path: z.string().min(1).describe('file or folder, relative to the data folder (--data)'),
    /** Character encoding of CSV files, e.g. windows-1251, gb18030 (default: detected). */
    encoding: z
      .string()
      .refine((e) => parseEncoding(e) !== null, { message: `unknown encoding (known: ${SOURCE_ENCODINGS.join(', ')})` })
      .optional()
      .describe(`character encoding of CSV files (${SOURCE_ENCODINGS.join(', ')}); default: detected`),
    /** CSV field separator, e.g. ";" (default: detected). */
    delimiter: z
      .string()
      .refine((d) => parseDelimiter(d) !== null, { message: `unknown delimiter (known: ${SOURCE_DELIMITERS.join(' ')})` })
      .optional()
      .describe(`field separator of CSV files (${SOURCE_DELIMITERS.join(' ')}); default: detected`),
    /** Excel workbooks: the sheet to read, by name (default: the first). */
    sheet: z.string().min(1).optional().describe('Excel workbooks: the sheet to read; default: the first'),
    /** Column (header name, any case) -> how its values are written. */
    formats: z
      .record(z.string().min(1), ColumnFormatSchema)
      .optional()
      .describe('column (header name, any case) -> how its values are written; the SELECTs then see contract values'),
  })
  .strict()
  .superRefine((src, ctx) => {
    const seen = new Set<string>();
    for (const column of Object.keys(src.formats ?? {})) {
      if (seen.has(column.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['formats', column], message: 'a second format for this column (names match in any case)' });
      seen.add(column.toLowerCase());
    }
  });

export type SourceSpec = z.infer<typeof SourceObjectSchema>;

export const MappingSchema = z
  .object({
    description: z.string().optional(),
    /** Raw source name -> a path relative to the data folder, or { path, encoding, delimiter, sheet, formats }. */
    sources: z.record(identifier, z.union([z.string().min(1), SourceObjectSchema])),
    /** Canonical table -> SELECT over the sources yielding its columns. */
    tables: z.partialRecord(
      z.enum(TABLES),
      z.string().regex(/^\s*(WITH|SELECT)\b/i, 'must be one read-only SELECT (or WITH … SELECT): COPY, ATTACH, CREATE, INSTALL, LOAD, SET, PRAGMA are refused'),
    ),
  })
  .strict()
  .superRefine((m, ctx) => {
    for (const [name, source] of Object.entries(m.sources)) {
      const path = typeof source === 'string' ? source : source.path;
      const problem = sourcePathProblem(path);
      if (problem) ctx.addIssue({ code: 'custom', path: typeof source === 'string' ? ['sources', name] : ['sources', name, 'path'], message: `${path} ${problem}` });
      if ((TABLES as readonly string[]).includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['sources', name], message: 'a source may not be named like a canonical table' });
      }
    }
    if (Object.keys(m.tables).length === 0) ctx.addIssue({ code: 'custom', path: ['tables'], message: 'maps no table' });
  });

export type Mapping = Omit<z.infer<typeof MappingSchema>, 'sources'> & {
  /** Raw source name -> its file or folder and how it is written (a bare path in the YAML: { path }). */
  sources: Record<string, SourceSpec>;
  file: string;
  /** The line of the mapping file where each table's SELECT starts (its line 1). */
  sqlLines: Partial<Record<TableName, number>>;
};

/** Where each table's SELECT starts in the YAML text (block scalars: the line after `|`). */
function sqlStartLines(text: string): Partial<Record<TableName, number>> {
  const doc = parseDocument(text);
  const out: Partial<Record<TableName, number>> = {};
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  for (const table of TABLES) {
    const node = doc.getIn(['tables', table], true) as { range?: [number, number, number]; type?: string } | undefined;
    if (!node?.range) continue;
    out[table] = lineAt(node.range[0]) + (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED' ? 1 : 0);
  }
  return out;
}

/** `line N` of the mapping file for line `sqlLine` of a table's SELECT. */
function fileLine(m: Pick<Mapping, 'sqlLines'>, table: TableName, sqlLine: number): number {
  return (m.sqlLines[table] ?? 1) + sqlLine - 1;
}

export function parseMapping(text: string, file: string): Mapping {
  const parsed = parseYamlConfig(text, file, MappingSchema);
  const sources = Object.fromEntries(Object.entries(parsed.sources).map(([n, src]) => [n, typeof src === 'string' ? { path: src } : src]));
  const mapping: Mapping = { ...parsed, sources, file, sqlLines: sqlStartLines(text) };
  const problems: string[] = [];
  for (const [table, sql] of Object.entries(mapping.tables) as [TableName, string][]) {
    for (const call of nonPortableCalls(sql)) {
      problems.push(
        `tables.${table}: line ${fileLine(mapping, table, call.line)}: ${call.name}() is not a portable function (the list: functions/engine/trinoCompat.ts)`,
      );
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
  return mapping;
}

export function loadMapping(file: string): Mapping {
  return parseMapping(readConfigFile(file), file);
}

/** Nodes of DuckDB's serialized parse tree (json_serialize_sql), walked generically. */
type Node = Record<string, unknown>;

function* walk(node: unknown): Generator<Node> {
  if (Array.isArray(node)) for (const n of node) yield* walk(n);
  else if (node && typeof node === 'object') {
    yield node as Node;
    for (const v of Object.values(node)) yield* walk(v);
  }
}

/**
 * Each table of the mapping is exactly one read-only SELECT reading only the declared sources (and
 * its own WITH names): DuckDB's parser (json_serialize_sql) serializes single SELECT statements only,
 * so COPY, ATTACH, CREATE, INSTALL, LOAD, SET, PRAGMA and a second statement are refused; in the
 * parsed tree a table function (read_csv, glob…) or a table other than a source is refused.
 * Throws ExportError naming the file, the table and the line.
 */
export async function checkMappingSql(conn: DuckDBConnection, mapping: Mapping): Promise<void> {
  const sources = new Set(Object.keys(mapping.sources));
  for (const [table, sql] of Object.entries(mapping.tables) as [TableName, string][]) {
    const where = `${mapping.file}: tables.${table}`;
    const at = (byteOffset: unknown) => {
      const off = typeof byteOffset === 'number' && byteOffset < 1e15 ? byteOffset : 0;
      return `line ${fileLine(mapping, table, Buffer.from(sql).subarray(0, off).toString().split('\n').length)}`;
    };
    const r = await conn.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)}) AS j`);
    const tree = JSON.parse(String(r.getRowObjectsJS()[0]!['j'])) as Node;
    if (tree['error']) {
      if (tree['error_type'] === 'parser') {
        throw new ExportError(`${where}: ${at(Number(tree['position']))}: ${String(tree['error_message']).split('\n')[0]}`);
      }
      // Several statements (one of them not a SELECT), or one that is not a SELECT: say which.
      const code = sqlCode(sql);
      const statements = code.split(';').filter((st) => st.trim());
      if (statements.length > 1) throw new ExportError(`${where}: ${statements.length} statements: a mapping table is exactly one read-only SELECT (no ";" between statements)`);
      throw new ExportError(`${where}: not a SELECT (${code.trim().split(/\s+/)[0]?.toUpperCase()} …): a mapping table is exactly one read-only SELECT`);
    }
    const statements = tree['statements'] as unknown[];
    if (statements.length !== 1) {
      throw new ExportError(`${where}: ${statements.length} statements: a mapping table is exactly one read-only SELECT (no ";" between statements)`);
    }
    const ctes = new Set<string>();
    for (const n of walk(statements)) {
      const map = (n['cte_map'] as { map?: { key: string }[] } | undefined)?.map;
      for (const e of map ?? []) ctes.add(e.key.toLowerCase());
    }
    for (const n of walk(statements)) {
      if (n['type'] === 'TABLE_FUNCTION') {
        const fn = (n['function'] as Node | undefined)?.['function_name'];
        throw new ExportError(`${where}: ${at(n['query_location'])}: ${String(fn)}() reads outside the declared sources: a mapping reads only its sources (${[...sources].join(', ')})`);
      }
      if (n['type'] === 'BASE_TABLE') {
        const name = String(n['table_name']);
        const qualified = [n['catalog_name'], n['schema_name'], name].filter((x) => x).join('.');
        // A name with a dot, slash or colon is a file or URL to DuckDB (a replacement scan), even where a WITH name matches it.
        if (qualified !== name || /[./\\:]/.test(name) || !(sources.has(name.toLowerCase()) || ctes.has(name.toLowerCase()))) {
          throw new ExportError(`${where}: ${at(n['query_location'])}: reads ${qualified}, which is not a declared source (${[...sources].join(', ')})`);
        }
      }
    }
  }
}

/**
 * The export files of source `name`, each resolved inside the data folder: the path, and every
 * file under it, must lie inside `dataDir` once symbolic links are followed. Throws ExportError.
 */
export function resolveSourceFiles(mapping: Mapping, name: string, dataDir: string, list: (dir: string) => string[]): string[] {
  const spec = mapping.sources[name]!;
  const where = `${mapping.file}: sources.${name}`;
  const root = realpathSync(dataDir);
  const inside = (p: string) => {
    const r = relative(root, realpathSync(p));
    return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
  };
  const problem = sourcePathProblem(spec.path);
  if (problem) throw new ExportError(`${where}: ${spec.path} ${problem}`);
  const p = join(dataDir, spec.path);
  if (!existsSync(p)) throw new ExportError(`${where}: no export file at ${spec.path} under the data folder`);
  if (!inside(p)) throw new ExportError(`${where}: ${spec.path} leads out of the data folder (a symbolic link to ${realpathSync(p)})`);
  const files = statSync(p).isDirectory() ? list(p) : [p];
  for (const f of files) {
    if (!inside(f)) throw new ExportError(`${where}: ${relative(dataDir, f)} leads out of the data folder (a symbolic link to ${realpathSync(f)})`);
  }
  if (!files.length) throw new ExportError(`${where}: no export file at ${spec.path} under the data folder`);
  return files;
}

/** What the reader needs to know of a source's files (exportReader.rawSelect). */
export function sourceOptions(spec: SourceSpec): SourceOptions {
  return { encoding: spec.encoding, delimiter: spec.delimiter, sheet: spec.sheet };
}

/** The wall-clock time of instant `t` (epoch seconds) in `zone`, as epoch seconds read as UTC. */
const wallSeconds = (t: string, zone: string) =>
  `to_unixtime(with_timezone(CAST(at_timezone(from_unixtime(${t}), ${sqlString(zone)}) AS timestamp), 'UTC'))`;

/**
 * Portable SQL giving epoch seconds (as read in UTC) of a local date-time `col` written in
 * `pattern`; null when it does not match or the day does not exist.
 */
export function localWallSecondsSql(col: string, pattern: string): string {
  const p = parseTimestampPattern(pattern);
  const re = sqlString(p.re);
  const part = (f: keyof TimestampPattern['groups'], fallback: string) => {
    const g = p.groups[f];
    if (!g) return sqlString(fallback);
    const x = `regexp_extract(${col}, ${re}, ${g.group})`;
    return g.pad ? `lpad(${x}, 2, '0')` : x;
  };
  const iso = [part('year', ''), "'-'", part('month', ''), "'-'", part('day', ''), "'T'", part('hour', '00'), "':'", part('minute', '00'), "':'", part('second', '00'), "'Z'"].join(' || ');
  return `to_unixtime(try(from_iso8601_timestamp(CASE WHEN regexp_like(${col}, ${re}) THEN ${iso} END)))`;
}

/**
 * Portable SQL: the instant of a local wall-clock time in `zone`, as epoch seconds, from `w`, that
 * time's epoch seconds read as UTC. The two candidate offsets are the zone's a day before and a
 * day after; a candidate is valid when it reads back as the same wall-clock time. An ambiguous
 * time (the hour repeated when clocks go back) is the first of the two instants; a time skipped
 * when clocks go forward is moved forward by the gap (02:30 -> 03:30), as java.time does.
 */
export function zonedInstantSql(w: string, zone: string): { c1: string; c2: string; pick: (c1: string, c2: string) => string } {
  if (zone === 'UTC') return { c1: w, c2: w, pick: (c1) => c1 };
  const c1 = `${w} - (${wallSeconds(`${w} - 86400`, zone)} - (${w} - 86400))`;
  const c2 = `${w} - (${wallSeconds(`${w} + 86400`, zone)} - (${w} + 86400))`;
  const pick = (a: string, b: string) => {
    const ok = (c: string) => `${wallSeconds(c, zone)} = ${w}`;
    // Mostly no change of offset within a day either side (a = b): nothing to decide.
    return `CASE WHEN ${a} = ${b} THEN ${a} WHEN ${ok(a)} AND ${ok(b)} THEN CASE WHEN ${a} <= ${b} THEN ${a} ELSE ${b} END WHEN ${ok(a)} THEN ${a} WHEN ${ok(b)} THEN ${b} ELSE ${a} END`;
  };
  return { c1, c2, pick };
}

const NBSP = '\u00a0';
const NNBSP = '\u202f';

/** Portable SQL: a foreign value of `col` as contract text, the raw text when it does not fit the format. */
function convertedValue(col: string, f: ColumnFormat, instant?: string): string {
  if (f.timestamp) return `coalesce(to_iso8601(from_unixtime(${instant})), ${col})`;
  if (f.decimal) {
    const re = sqlString(`\\A[+-]?[0-9 ${NBSP}${NNBSP}]*(,[0-9]*)?\\z`);
    return `CASE WHEN regexp_like(${col}, ${re}) THEN replace(replace(replace(replace(${col}, ' ', ''), '${NBSP}', ''), '${NNBSP}', ''), ',', '.') ELSE ${col} END`;
  }
  const words = (ws: string[]) => ws.map((w) => `lower(${sqlString(w)})`).join(', ');
  const yesNo = f.bool!;
  return `CASE WHEN lower(${col}) IN (${words(yesNo.true)}) THEN 'true' WHEN lower(${col}) IN (${words(yesNo.false)}) THEN 'false' ELSE ${col} END`;
}

/**
 * A portable SELECT giving `columns` of the relation `inner` (the source's raw text columns, lower
 * case), the columns with a declared format converted to contract values: ISO-8601 instants,
 * `.` decimals, true/false. A value that does not fit its format is passed on unchanged, so the
 * contract's validation counts it as a bad value instead of losing it. Throws ExportError when a
 * format names a column the source does not have.
 */
export function formattedSourceSelect(mapping: Mapping, name: string, columns: string[], inner: string): string {
  const formats = Object.entries(mapping.sources[name]!.formats ?? {}).map(([c, f]) => [c.toLowerCase(), f] as const);
  if (!formats.length) return inner;
  for (const [c] of formats) {
    if (!columns.includes(c)) throw new ExportError(`${mapping.file}: sources.${name}.formats.${c}: the source has no such column (it has ${columns.join(', ')})`);
  }
  const q = quoteIdent;
  const helper = (i: number, what: string) => q(`__format_${i}_${what}`);
  const stamps = formats.flatMap(([c, f], i) => (f.timestamp ? [{ c, i, pattern: f.timestamp, zone: f.timezone ?? 'UTC' }] : []));
  // Stage 1: local wall-clock seconds; stage 2: the two candidate instants; then the values.
  const s1 = `SELECT ${[...columns.map((c) => q(c)), ...stamps.map((s) => `${localWallSecondsSql(q(s.c), s.pattern)} AS ${helper(s.i, 'w')}`)].join(', ')} FROM (${inner}) AS raw_source`;
  const s2 = `SELECT ${[
    ...columns.map((c) => q(c)),
    ...stamps.flatMap((s) => {
      const z = zonedInstantSql(helper(s.i, 'w'), s.zone);
      return [`${helper(s.i, 'w')}`, `${z.c1} AS ${helper(s.i, 'c1')}`, `${z.c2} AS ${helper(s.i, 'c2')}`];
    }),
  ].join(', ')} FROM (${s1}) AS local_times`;
  const byColumn = new Map(formats.map(([c, f], i) => [c, { f, i }]));
  const out = columns.map((c) => {
    const fmt = byColumn.get(c);
    if (!fmt) return q(c);
    const s = stamps.find((x) => x.c === c);
    const instant = s ? zonedInstantSql(helper(s.i, 'w'), s.zone).pick(helper(s.i, 'c1'), helper(s.i, 'c2')) : undefined;
    return `${convertedValue(q(c), fmt.f, instant)} AS ${q(c)}`;
  });
  return `SELECT ${out.join(', ')} FROM (${s2}) AS instants`;
}
