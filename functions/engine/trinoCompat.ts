/**
 * One SQL text, two engines. The indicator queries are written in Athena's dialect (Trino) and use
 * only the functions listed in PORTABLE_FUNCTIONS, whose semantics agree on Trino and DuckDB for the
 * way we call them. Where DuckDB lacks a Trino function (or names it differently), a macro below
 * gives DuckDB the Trino name with the Trino behaviour we rely on.
 *
 * Deliberately avoided (they differ between the engines): integer division (`/` on integers is
 * truncating in Trino and fractional in DuckDB: we divide by a decimal literal or in TypeScript),
 * date_diff / date_add, approx_* (approximate), date_format / format_datetime / date_parse,
 * time-zone conversion in the indicator queries (period bounds are computed in TypeScript and
 * passed as epoch milliseconds; source mappings convert local times with at_timezone, see
 * mappings.ts), least / greatest (Trino: null if any argument is null; DuckDB: ignores nulls),
 * regexp_extract on a value not known to match (no match: Trino null, DuckDB ''), regexp_replace
 * (Trino replaces all, DuckDB the first).
 *
 * Every function's examples run on DuckDB and on a real Trino (test/integration/portableFunctions.test.ts).
 *
 * test/unit/portableSql.test.ts fails when a query calls anything outside PORTABLE_FUNCTIONS; a
 * source mapping that does is refused when it is loaded (mappings.ts, with nonPortableCalls).
 */

export interface CompatFunction {
  name: string;
  /** What we rely on, true on both engines. */
  semantics: string;
  /** DuckDB macro giving DuckDB the Trino name, when DuckDB lacks it or differs. */
  duckdbMacro?: string;
  /**
   * Calls and their results as we rely on them, run on DuckDB and on a real Trino by
   * test/integration/portableFunctions.test.ts: a SQL expression and the value it must give.
   */
  examples: [sql: string, expected: string | number | boolean | null][];
}

export const PORTABLE_FUNCTIONS: readonly CompatFunction[] = [
  {
    name: 'regexp_like',
    semantics:
      'regexp_like(s, pattern): true when pattern matches anywhere in s; null for null s. Anchor with \\A and \\z, never ^ and $: Trino\'s $ also matches before a final line break, RE2\'s (DuckDB) does not',
    duckdbMacro: 'CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
    examples: [
      ["regexp_like('12', '\\A[0-9]+\\z')", true],
      ["regexp_like('12' || chr(10), '\\A[0-9]+\\z')", false],
      ["regexp_like('a12b', '[0-9]+')", true],
      ['regexp_like(CAST(NULL AS varchar), \'x\')', null],
    ],
  },
  {
    name: 'from_iso8601_timestamp',
    semantics:
      'parses YYYY-MM-DDTHH:MM:SSZ to a timestamp with time zone; we call it only in that exact form (fraction and offset are applied in SQL: the engines round or truncate fractions differently and Trino refuses offsets beyond ±14:00), inside try(): a day that does not exist gives null',
    duckdbMacro: 'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS TRY_CAST(s AS TIMESTAMPTZ)',
    examples: [
      ["to_unixtime(from_iso8601_timestamp('2026-10-01T10:00:00Z'))", 1790848800],
      ["to_unixtime(try(from_iso8601_timestamp('2026-02-29T10:00:00Z')))", null],
      ["to_unixtime(from_iso8601_timestamp('1582-10-10T00:00:00Z'))", -12219724800],
    ],
  },
  {
    name: 'to_unixtime',
    semantics: 'seconds since the epoch as double (fractional part = sub-second)',
    duckdbMacro: 'CREATE OR REPLACE MACRO to_unixtime(t) AS epoch(t)',
    examples: [["to_unixtime(from_iso8601_timestamp('1970-01-01T00:00:01Z'))", 1]],
  },
  {
    name: 'with_timezone',
    semantics: 'with_timezone(timestamp, zone): the wall-clock timestamp read as local time in the IANA zone (mappings only; the two engines may differ inside a DST gap or overlap)',
    duckdbMacro: 'CREATE OR REPLACE MACRO with_timezone(ts, zone) AS timezone(zone, ts)',
    examples: [
      ["to_unixtime(with_timezone(CAST('2026-10-01 10:00:00' AS timestamp), 'Europe/Moscow'))", 1790838000],
      ["to_unixtime(with_timezone(CAST('2026-10-25 02:30:00' AS timestamp), 'UTC'))", 1792895400],
    ],
  },
  {
    name: 'at_timezone',
    semantics:
      'at_timezone(instant, zone), only as CAST(at_timezone(instant, zone) AS timestamp): the wall-clock time of the instant in the IANA zone, DST included (Trino gives a timestamp with time zone, DuckDB a timestamp: the cast makes them one)',
    duckdbMacro: 'CREATE OR REPLACE MACRO at_timezone(t, zone) AS timezone(zone, t)',
    examples: [
      // 2026-10-01T10:00Z is 13:00 in Moscow (UTC+3, no DST).
      ["to_unixtime(with_timezone(CAST(at_timezone(from_unixtime(1790848800), 'Europe/Moscow') AS timestamp), 'UTC'))", 1790859600],
      // 2026-10-25T00:30Z (Berlin still on CEST, +2) and 01:30Z (back on CET, +1) are both 02:30 in Berlin.
      ["to_unixtime(with_timezone(CAST(at_timezone(from_unixtime(1792888200), 'Europe/Berlin') AS timestamp), 'UTC'))", 1792895400],
      ["to_unixtime(with_timezone(CAST(at_timezone(from_unixtime(1792891800), 'Europe/Berlin') AS timestamp), 'UTC'))", 1792895400],
    ],
  },
  {
    name: 'to_iso8601',
    semantics: 'an ISO-8601 text of the instant that from_iso8601_timestamp reads back (Trino writes the offset, DuckDB Z: same instant)',
    duckdbMacro: "CREATE OR REPLACE MACRO to_iso8601(t) AS strftime(timezone('UTC', t), '%Y-%m-%dT%H:%M:%S.%gZ')",
    examples: [
      ["to_unixtime(from_iso8601_timestamp(to_iso8601(from_unixtime(1790848800))))", 1790848800],
      // An instant from from_unixtime (session time zone UTC) is written the same on both.
      ['to_iso8601(from_unixtime(1790848800))', '2026-10-01T10:00:00.000Z'],
    ],
  },
  {
    name: 'from_unixtime',
    semantics: 'from_unixtime(seconds): the instant as a timestamp with time zone',
    duckdbMacro: 'CREATE OR REPLACE MACRO from_unixtime(x) AS to_timestamp(x)',
    examples: [['to_unixtime(from_unixtime(1790848800))', 1790848800]],
  },
  {
    name: 'substr',
    semantics: 'substr(s, start[, length]), 1-based, in characters; past the end gives the empty string',
    examples: [
      ["substr('2026-10-01T10:00:00Z', 12, 2)", '10'],
      ["substr('abc', 2)", 'bc'],
      ["substr('客服一组', 2, 2)", '服一'],
      ["substr('abc', 5, 2)", ''],
    ],
  },
  {
    name: 'lpad',
    semantics: 'lpad(s, n, pad): s padded on the left to n characters (we only pad strings no longer than n)',
    examples: [
      ["lpad('2', 2, '0')", '02'],
      ["lpad('12', 2, '0')", '12'],
    ],
  },
  {
    name: 'regexp_extract',
    semantics:
      "regexp_extract(s, pattern, group): the text of a capturing group; called only on a value that regexp_like has matched with the same pattern, and only for groups that always take part in the match (no match: Trino null, DuckDB '')",
    examples: [
      ["regexp_extract('02.11.2026 14:05', '\\A([0-9]{1,2})[.]([0-9]{1,2})[.]([0-9]{4}) ([0-9]{1,2}):([0-9]{2})\\z', 3)", '2026'],
      ["regexp_extract('2026/1/2 9:05', '\\A([0-9]{4})/([0-9]{1,2})/([0-9]{1,2}) ([0-9]{1,2}):([0-9]{2})\\z', 4)", '9'],
    ],
  },
  {
    name: 'length',
    semantics: 'length(s) in characters (not bytes)',
    examples: [
      ["length('2026-10-01')", 10],
      ["length('客服')", 2],
    ],
  },
  {
    name: 'rpad',
    semantics: 'rpad(s, n, pad): s padded on the right to n characters (we only pad strings shorter than n)',
    examples: [["rpad('5', 3, '0')", '500']],
  },
  {
    name: 'try',
    semantics: 'null instead of an error (built in on both); does NOT catch every Trino error (an unsupported time zone still fails), so arguments are made safe first',
    examples: [["try(CAST('x' AS bigint))", null]],
  },
  {
    name: 'replace',
    semantics: 'replace(s, from, to): every occurrence',
    examples: [["replace('a b c', ' ', 'T')", 'aTbTc']],
  },
  {
    name: 'lower',
    semantics: 'lower case',
    examples: [["lower('TRUE')", 'true']],
  },
  {
    name: 'coalesce',
    semantics: 'first non-null',
    examples: [["coalesce(CAST(NULL AS varchar), 'unassigned')", 'unassigned']],
  },
  {
    name: 'nullif',
    semantics: 'null when equal',
    examples: [["nullif('', '')", null]],
  },
  {
    name: 'round',
    semantics: 'round(double) to the nearest integer; only applied to values already integral up to float error',
    examples: [['round(CAST(1790848800.0000002 AS double) * 1000)', 1790848800000]],
  },
  {
    name: 'floor',
    semantics: 'floor',
    examples: [['floor(7 / 2.0)', 3]],
  },
  {
    name: 'count',
    semantics: 'count(x) counts non-null x; count(*) rows',
    examples: [['(SELECT count(x) FROM (VALUES (1), (NULL), (3)) AS t(x))', 2]],
  },
  {
    name: 'sum',
    semantics: 'sum; null over no rows',
    examples: [['(SELECT sum(x) FROM (VALUES (1), (2)) AS t(x) WHERE x > 5)', null]],
  },
  {
    name: 'max',
    semantics: 'max',
    examples: [['(SELECT max(x) FROM (VALUES (1), (3), (2)) AS t(x))', 3]],
  },
  {
    name: 'row_number',
    semantics: 'window row number; ORDER BY must be total (break ties explicitly) for the same row to win on both',
    examples: [['(SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY x) AS rn FROM (VALUES (1), (2)) AS t(x)))', 2]],
  },
  {
    name: 'lag',
    semantics: 'window lag(x, k): null before the first row of the partition',
    examples: [['(SELECT count(p) FROM (SELECT lag(x, 1) OVER (ORDER BY x) AS p FROM (VALUES (1), (2), (3)) AS t(x)))', 2]],
  },
  {
    name: 'array_agg',
    semantics: 'array_agg(x) FILTER (WHERE …): the values as an array; arrays are 1-based on both. Subscripts are only read within 1..cardinality: out of range, Trino fails where DuckDB gives null',
    examples: [['(SELECT array_sort(array_agg(x) FILTER (WHERE x > 1))[2] FROM (VALUES (3), (1), (2)) AS t(x))', 3]],
  },
  {
    name: 'array_sort',
    semantics: 'array_sort(array): ascending (no nulls in our arrays)',
    examples: [['(SELECT array_sort(array_agg(CAST(x AS double)))[1] FROM (VALUES (3.5), (-1.25), (2.0)) AS t(x))', -1.25]],
  },
  {
    name: 'grouping',
    semantics: 'grouping(a): 0 when the row groups by a, 1 when a is aggregated away',
    examples: [['(SELECT max(g) FROM (SELECT grouping(x) AS g FROM (VALUES (1), (2)) AS t(x) GROUP BY GROUPING SETS ((x), ())))', 1]],
  },
];

export const PORTABLE_FUNCTION_NAMES: ReadonlySet<string> = new Set(PORTABLE_FUNCTIONS.map((f) => f.name));

/** SQL keywords that look like calls (`IN (`, `CAST(`…) and are not functions. */
const KEYWORDS = new Set([
  'in', 'cast', 'values', 'over', 'as', 'and', 'or', 'not', 'filter', 'exists', 'from', 'join', 'on', 'using',
  'when', 'then', 'else', 'select', 'where', 'sets', 'by', 'with', 'is', 'between', 'end', 'case',
]);

/** Keeps the line breaks of a blanked-out span, so that line numbers still hold. */
const blank = (keep: string) => (span: string) => keep + span.replace(/[^\n]/g, '');

/**
 * A SQL text with comments, string literals ('') and quoted identifiers (x) blanked out, its
 * line breaks kept: what is left is code, keywords and names.
 */
export function sqlCode(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, blank(' '))
    .replace(/'(?:[^']|'')*'/g, blank("''"))
    .replace(/"(?:[^"]|"")*"/g, blank('x'));
}

/**
 * Every function call in a SQL text (an identifier followed by `(`), with its 1-based line, in
 * order; string literals, quoted identifiers and comments are not searched. The one finder of
 * calls: the portable-SQL test runs it on the indicator queries, mapping checks on user SELECTs.
 */
export function functionCalls(sql: string): { name: string; line: number }[] {
  const text = sqlCode(sql);
  const found: { name: string; line: number }[] = [];
  // An identifier directly after AS is an alias with a column list (`AS an(a)`), not a call.
  for (const m of text.matchAll(/(\bAS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(/gi)) {
    if (m[1]) continue;
    const name = m[2]!.toLowerCase();
    if (!KEYWORDS.has(name)) found.push({ name, line: text.slice(0, m.index).split('\n').length });
  }
  return found;
}

/** The function names a SQL text calls (functionCalls without lines). */
export function functionsCalled(sql: string): Set<string> {
  return new Set(functionCalls(sql).map((c) => c.name));
}

/** The calls of a SQL text to functions outside PORTABLE_FUNCTIONS, with their lines. */
export function nonPortableCalls(sql: string): { name: string; line: number }[] {
  return functionCalls(sql).filter((c) => !PORTABLE_FUNCTION_NAMES.has(c.name));
}

/** Statements that install the compatibility layer on a DuckDB connection. */
export const DUCKDB_COMPAT_SQL: readonly string[] = [
  "SET TimeZone = 'UTC'",
  ...PORTABLE_FUNCTIONS.flatMap((f) => (f.duckdbMacro ? [f.duckdbMacro] : [])),
];
