/**
 * Parsing, deduplication and validation of one canonical table, as a chain of SQL stages (Trino
 * dialect, portable functions only). Every stage reads only the stage before it, so each engine
 * scans the source table exactly once per query.
 *
 *   src   the raw VARCHAR columns
 *   typed each column parsed to its type (timestamps as epoch milliseconds), beside its raw text
 *   dedup a bad_value flag; row_number over key by updated_at desc, ties broken by the raw values
 *   rec   the status code of every row (STATUS below)
 */
import { CONTRACT, type ColumnDef, EXPECTATION_SCALE, REJECT_REASONS, type RejectReason, SERVQUAL_DIMENSIONS, SURVEY_SCALES, type TableDef, type TableName } from '../pipeline/contract.js';

/**
 * Row status codes, in the order the SQL decides them: 0 = record used; then the contract's reject
 * reasons (REJECT_REASONS, its one list), with `duplicate` (an older version of a record) after
 * the two that drop a row before deduplication.
 */
const STATUS_ORDER = ['ok', ...REJECT_REASONS.slice(0, 2), 'duplicate', ...REJECT_REASONS.slice(2)] as const;
export const STATUS = Object.fromEntries(STATUS_ORDER.map((name, code) => [name, code])) as Record<(typeof STATUS_ORDER)[number], number>;
export const STATUS_NAMES: Record<number, (typeof STATUS_ORDER)[number]> = { ...STATUS_ORDER };
export type StatusName = keyof typeof STATUS;
export type { RejectReason };

/**
 * The contract's timestamp forms: date, optional time with optional fraction and offset; T or space.
 * Hours 00-23, minutes and seconds 00-59 (engines accept 24:00:00; the contract does not).
 * Day-of-month validity (2026-02-29) is left to the parse, which yields null.
 *
 * Patterns are anchored with \A and \z, never ^ and $: Trino's `$` also matches before a trailing
 * line break (Java regular expressions), RE2's (DuckDB) does not.
 */
const HH = '([01][0-9]|2[0-3])';
const MM = '[0-5][0-9]';
export const TIMESTAMP_RE = `\\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]${HH}:${MM}:${MM}([.][0-9]+)?(Z|[+-]${HH}:${MM})?)?\\z`;
export const INT_RE = '\\A[+-]?[0-9]+\\z';
export const DECIMAL_RE = '\\A[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)\\z';

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const raw = (c: ColumnDef) => `r_${c.name}`;

/**
 * Epoch milliseconds of a contract timestamp `r` that already matched TIMESTAMP_RE, computed the
 * same way on every engine: the engines' own parsers see only `YYYY-MM-DDTHH:MM:SSZ` (they differ
 * on fractions beyond milliseconds, rounding or truncating, and Trino refuses offsets it has no
 * zone for, such as +15:00), so the fraction is truncated to milliseconds and the offset applied
 * here. Null when the date does not exist (2026-02-30).
 */
function timestampMsSql(r: string): string {
  // After the 19 characters of date and time: an optional .fraction, then Z, ±HH:MM or nothing.
  const offsetLen = `CASE WHEN ${r} LIKE '%Z' THEN 1 WHEN length(${r}) >= 25 AND substr(${r}, length(${r}) - 5, 1) IN ('+', '-') THEN 6 ELSE 0 END`;
  const offsetMin = `CASE WHEN length(${r}) >= 25 AND substr(${r}, length(${r}) - 5, 1) IN ('+', '-') THEN (CASE WHEN substr(${r}, length(${r}) - 5, 1) = '-' THEN -1 ELSE 1 END) * (CAST(substr(${r}, length(${r}) - 4, 2) AS bigint) * 60 + CAST(substr(${r}, length(${r}) - 1, 2) AS bigint)) ELSE 0 END`;
  const fraction = `substr(${r}, 21, length(${r}) - 20 - (${offsetLen}))`;
  const fractionMs = `CASE WHEN substr(${r}, 20, 1) = '.' THEN CAST(rpad(substr(${fraction}, 1, 3), 3, '0') AS bigint) ELSE 0 END`;
  const utc = `CASE WHEN length(${r}) = 10 THEN ${r} || 'T00:00:00Z' ELSE replace(substr(${r}, 1, 19), ' ', 'T') || 'Z' END`;
  return `CAST(round(to_unixtime(try(from_iso8601_timestamp(${utc}))) * 1000) AS bigint) + ${fractionMs} - (${offsetMin}) * 60000`;
}

function parseExpr(c: ColumnDef): string {
  const r = raw(c);
  switch (c.type) {
    case 'string':
      return r;
    case 'timestamp':
      return `CASE WHEN regexp_like(${r}, '${TIMESTAMP_RE}') THEN ${timestampMsSql(r)} END`;
    case 'int':
      return `CASE WHEN regexp_like(${r}, '${INT_RE}') THEN try(CAST(${r} AS bigint)) END`;
    case 'decimal':
      return `CASE WHEN regexp_like(${r}, '${DECIMAL_RE}') THEN try(CAST(${r} AS double)) END`;
    case 'bool':
      return `CASE WHEN lower(${r}) IN ('true', '1', 'yes', 'y') THEN true WHEN lower(${r}) IN ('false', '0', 'no', 'n') THEN false END`;
  }
}

function outOfRange(t: TableDef): string[] {
  const conds = t.columns.filter((c) => c.min !== undefined).map((c) => `${c.name} < ${c.min}`);
  if (t.name === 'surveys') {
    const types = Object.keys(SURVEY_SCALES).map(sqlString).join(', ');
    conds.push(`survey_type NOT IN (${types})`);
    for (const [type, [lo, hi]] of Object.entries(SURVEY_SCALES)) {
      conds.push(`(survey_type = '${type}' AND (score < ${lo} OR score > ${hi}))`);
    }
    conds.push(`expectation < ${EXPECTATION_SCALE[0]} OR expectation > ${EXPECTATION_SCALE[1]}`);
    conds.push(`(survey_type = 'servqual' AND dimension NOT IN (${SERVQUAL_DIMENSIONS.map(sqlString).join(', ')}))`);
  }
  return conds;
}

/** A predicate that is true only when `cond` is true (null counts as false). */
const isTrue = (cond: string) => `coalesce(${cond}, false)`;
const any = (conds: string[]) => (conds.length ? conds.map((c) => isTrue(`(${c})`)).join(' OR ') : 'false');

/**
 * The stages src → typed → dedup → rec for `table` as CTE text (without the leading WITH).
 * The last stage `rec` has every parsed column, `k` (key), `u` (updated_at ms) and `st` (STATUS),
 * and the `carry` columns of `source` unchanged (`npm run check` carries each row's file and row
 * number and raw values, to show where a rejected record came from).
 */
export function recordStages(table: TableName, source: string = table, carry: readonly string[] = []): string {
  const t = CONTRACT[table];
  const key = t.columns.find((c) => c.name === t.key)!;
  const typedCols = t.columns.filter((c) => c.type !== 'string');
  const src = t.columns.map((c) => `nullif(${quoteIdent(c.name)}, '') AS ${raw(c)}`).join(',\n    ');
  const typed = t.columns.map((c) => `${parseExpr(c)} AS ${c.name}`).join(',\n    ');
  // Computed a stage after the parse: an alias is not visible in the SELECT list defining it (Trino).
  const badValue = typedCols.map((c) => `(${raw(c)} IS NOT NULL AND ${c.name} IS NULL)`).join(' OR ') || 'false';
  const missingRequired = t.columns.filter((c) => c.required).map((c) => `${c.name} IS NULL`);
  const inconsistent = t.order.map(([later, earlier]) => `${later} < ${earlier}`);
  const cols = [...t.columns.map((c) => c.name), ...carry.map(quoteIdent)].join(', ');
  // Versions tied on updated_at are identical in a well-formed export; when they are not, the raw
  // values decide (ascending, nulls last), so every engine keeps the same row.
  const tieBreak = t.columns.map((c) => `${raw(c)} ASC NULLS LAST`).join(', ');
  return `src AS (
  SELECT
    ${[src, ...carry.map(quoteIdent)].join(',\n    ')}
  FROM ${source}
),
typed AS (
  SELECT src.*,
    ${typed}
  FROM src
),
dedup AS (
  SELECT ${cols}, ${badValue} AS bad_value,
    row_number() OVER (PARTITION BY CASE WHEN updated_at IS NOT NULL THEN ${key.name} END ORDER BY updated_at DESC, ${tieBreak}) AS rn
  FROM typed
),
rec AS (
  SELECT ${cols}, ${key.name} AS k, updated_at AS u,
    CASE
      WHEN ${key.name} IS NULL THEN ${STATUS.missing_key}
      WHEN updated_at IS NULL THEN ${STATUS.bad_updated_at}
      WHEN rn > 1 THEN ${STATUS.duplicate}
      WHEN bad_value THEN ${STATUS.bad_value}
      WHEN ${any(missingRequired)} THEN ${STATUS.missing_required}
      WHEN ${any(outOfRange(t))} THEN ${STATUS.out_of_range}
      WHEN ${any(inconsistent)} THEN ${STATUS.inconsistent_times}
      ELSE ${STATUS.ok}
    END AS st
  FROM dedup
)`;
}
