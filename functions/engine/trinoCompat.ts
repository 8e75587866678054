/**
 * One SQL text, two engines. The indicator queries are written in Athena's dialect (Trino) and use
 * only the functions listed in PORTABLE_FUNCTIONS, whose semantics agree on Trino and DuckDB for the
 * way we call them. Where DuckDB lacks a Trino function (or names it differently), a macro below
 * gives DuckDB the Trino name with the Trino behaviour we rely on.
 *
 * Deliberately avoided (they differ between the engines): integer division (`/` on integers is
 * truncating in Trino and fractional in DuckDB: we divide by a decimal literal or in TypeScript),
 * date_diff / date_add, approx_* (approximate), date_format / format_datetime, time-zone
 * conversion (period bounds are computed in TypeScript and passed as epoch milliseconds).
 *
 * test/unit/portableSql.test.ts fails when a query calls anything outside PORTABLE_FUNCTIONS.
 */

export interface CompatFunction {
  name: string;
  /** What we rely on, true on both engines. */
  semantics: string;
  /** DuckDB macro giving DuckDB the Trino name, when DuckDB lacks it or differs. */
  duckdbMacro?: string;
}

export const PORTABLE_FUNCTIONS: readonly CompatFunction[] = [
  {
    name: 'regexp_like',
    semantics: 'regexp_like(s, pattern): true when pattern matches anywhere in s (we anchor with ^...$); null for null s',
    duckdbMacro: 'CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
  },
  {
    name: 'from_iso8601_timestamp',
    semantics:
      'parses YYYY-MM-DD[THH:MM:SS[.f…][Z|±HH:MM]] to a timestamp with time zone; no offset = session zone (UTC on both); we only call it on strings that already match the contract regex, inside try()',
    duckdbMacro: 'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS TRY_CAST(s AS TIMESTAMPTZ)',
  },
  {
    name: 'to_unixtime',
    semantics: 'seconds since the epoch as double (fractional part = sub-second)',
    duckdbMacro: 'CREATE OR REPLACE MACRO to_unixtime(t) AS epoch(t)',
  },
  {
    name: 'with_timezone',
    semantics: 'with_timezone(timestamp, zone): the wall-clock timestamp read as local time in the IANA zone (mappings only; the two engines may differ inside a DST gap or overlap)',
    duckdbMacro: 'CREATE OR REPLACE MACRO with_timezone(ts, zone) AS timezone(zone, ts)',
  },
  {
    name: 'to_iso8601',
    semantics: 'an ISO-8601 text of the instant that from_iso8601_timestamp reads back (Trino writes the offset, DuckDB Z: same instant)',
    duckdbMacro: "CREATE OR REPLACE MACRO to_iso8601(t) AS strftime(timezone('UTC', t), '%Y-%m-%dT%H:%M:%S.%gZ')",
  },
  {
    name: 'from_unixtime',
    semantics: 'from_unixtime(seconds): the instant as a timestamp with time zone',
    duckdbMacro: 'CREATE OR REPLACE MACRO from_unixtime(x) AS to_timestamp(x)',
  },
  { name: 'substr', semantics: 'substr(s, start, length), 1-based' },
  { name: 'try', semantics: 'null instead of an error (built in on both)' },
  { name: 'replace', semantics: 'replace(s, from, to): every occurrence' },
  { name: 'lower', semantics: 'lower case' },
  { name: 'coalesce', semantics: 'first non-null' },
  { name: 'nullif', semantics: 'null when equal' },
  { name: 'round', semantics: 'round(double) to the nearest integer; only applied to values already integral up to float error' },
  { name: 'floor', semantics: 'floor' },
  { name: 'least', semantics: 'least of non-null arguments (we never pass nulls)' },
  { name: 'count', semantics: 'count(x) counts non-null x; count(*) rows' },
  { name: 'sum', semantics: 'sum; null over no rows' },
  { name: 'max', semantics: 'max' },
  { name: 'row_number', semantics: 'window row number' },
  { name: 'lag', semantics: 'window lag(x, k): null before the first row of the partition' },
  { name: 'array_agg', semantics: 'array_agg(x) FILTER (WHERE …): the values as an array; arrays are 1-based on both' },
  { name: 'array_sort', semantics: 'array_sort(array): ascending (no nulls in our arrays)' },
  { name: 'grouping', semantics: 'grouping(a): 0 when the row groups by a, 1 when a is aggregated away' },
];

export const PORTABLE_FUNCTION_NAMES: ReadonlySet<string> = new Set(PORTABLE_FUNCTIONS.map((f) => f.name));

/** SQL keywords that look like calls (`IN (`, `CAST(`…) and are not functions. */
const KEYWORDS = new Set([
  'in', 'cast', 'values', 'over', 'as', 'and', 'or', 'not', 'filter', 'exists', 'from', 'join', 'on', 'using',
  'when', 'then', 'else', 'select', 'where', 'sets', 'by', 'with', 'is', 'between', 'end', 'case',
]);

/** The function names a SQL text calls (identifiers followed by `(`), string literals and comments removed. */
export function functionsCalled(sql: string): Set<string> {
  const text = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, 'x');
  const found = new Set<string>();
  // An identifier directly after AS is an alias with a column list (`AS an(a)`), not a call.
  for (const m of text.matchAll(/(\bAS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(/gi)) {
    if (m[1]) continue;
    const name = m[2]!.toLowerCase();
    if (!KEYWORDS.has(name)) found.add(name);
  }
  return found;
}

/** Statements that install the compatibility layer on a DuckDB connection. */
export const DUCKDB_COMPAT_SQL: readonly string[] = [
  "SET TimeZone = 'UTC'",
  ...PORTABLE_FUNCTIONS.flatMap((f) => (f.duckdbMacro ? [f.duckdbMacro] : [])),
];
