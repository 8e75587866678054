/**
 * Where raw exports land and where their canonical Parquet goes, in the exports bucket:
 *
 *   <rawPrefix><table>/dt=YYYY-MM-DD/<name>.csv[.gz]|.parquet   ->  <curatedPrefix>/<table>/dt=YYYY-MM-DD/<name>.parquet
 *   <rawPrefix><table>/<name>.csv                               ->  <curatedPrefix>/<table>/dt=<undatedPartition>/<name>.parquet
 *   <rawPrefix><table>.csv|.csv.gz|.parquet|.xlsx               ->  <curatedPrefix>/<table>/dt=<undatedPartition>/@root.<name>.parquet
 *   <rawPrefix><any name>.xlsx, its sheet named <table>         ->  <curatedPrefix>/<table>/dt=<undatedPartition>/@root.<name>.parquet
 *
 * Athena's partition projection needs a dt on every file, so an export without a partition (the
 * contract allows one) is filed under a fixed date, the first day of the projected range: the same
 * file uploaded again lands on the same key and replaces its earlier copy.
 */
import { EXPORT_EXTENSIONS, fileFormat, tableOfName } from '../engine/exportReader.js';
import { TABLES, type TableName } from '../pipeline/contract.js';

/** The first export date the AWS stack looks for by default; exports without a dt= folder are filed under it. */
export const DEFAULT_EXPORTS_SINCE = '2015-01-01';

export interface IngestLayout {
  /** Prefix of raw exports, ending in '/' (e.g. 'raw/'). */
  rawPrefix: string;
  /** Prefix of canonical Parquet, without trailing '/' (e.g. 'curated'). */
  curatedPrefix: string;
  /** dt given to exports that arrive without one (YYYY-MM-DD). */
  undatedPartition: string;
}

export interface RawExport {
  table: TableName;
  dt: string;
  /** File name of the raw export (last key segment). */
  name: string;
  curatedKey: string;
}

const DT_RE = /^dt=(\d{4}-\d{2}-\d{2})$/;

/**
 * The curated Parquet has every canonical column (absent ones as nulls), so the columns the
 * exports really had are recorded beside it, one empty marker per column present:
 * `<curated>/<table>/_columns/<column>`. Readers (Athena, Hive) see only the dt= folders.
 */
export const columnMarkerPrefix = (curatedPrefix: string, table: string): string => `${curatedPrefix ? `${curatedPrefix}/` : ''}${table}/_columns/`;

/**
 * A raw export that could not be normalized leaves a small JSON marker
 * `<curated>/<table>/_failed/<dt>/<name>.json` = { key, error, at } (removed again when the same key
 * is later normalized or deleted), so the reports of the period can say that its rows are missing.
 */
export const failedMarkerPrefix = (curatedPrefix: string, table: string): string => `${curatedPrefix ? `${curatedPrefix}/` : ''}${table}/_failed/`;

/** The failure marker of one raw export (see failedMarkerPrefix). */
export const failedMarkerKey = (curatedPrefix: string, raw: Pick<RawExport, 'table' | 'dt' | 'name'>): string =>
  `${failedMarkerPrefix(curatedPrefix, raw.table)}${raw.dt}/${raw.name}.json`;

/** Marks the curated copy of an export that lies directly under the raw prefix: it cannot collide with a file of the same name in the table's folder. */
const ROOT_MARK = '@root.';

/** A table's export directly under the raw prefix (`<raw>tickets.csv`, or `<raw>crm.xlsx` for its sheet `tickets`): undated. */
export function rootExport(layout: IngestLayout, table: TableName, name: string): RawExport {
  const dt = layout.undatedPartition;
  return { table, dt, name: `${ROOT_MARK}${name}`, curatedKey: `${layout.curatedPrefix}/${table}/dt=${dt}/${ROOT_MARK}${name}.parquet` };
}

/** The name of a workbook directly under the raw prefix that is not named as a table (its sheets named as tables are exports), or null. */
export function rootWorkbookName(key: string, layout: IngestLayout): string | null {
  if (!key.startsWith(layout.rawPrefix)) return null;
  const rel = key.slice(layout.rawPrefix.length);
  if (rel.includes('/') || rel.startsWith('.') || rel.startsWith('_') || fileFormat(rel) !== 'xlsx' || tableOfName(rel)) return null;
  return rel;
}

/** The raw export a key names, or null (with a reason) when the key is not an export of the contract. */
export function parseRawKey(key: string, layout: IngestLayout): RawExport | { skip: string } {
  if (!key.startsWith(layout.rawPrefix)) return { skip: `outside ${layout.rawPrefix}` };
  const parts = key.slice(layout.rawPrefix.length).split('/');
  if (parts.length === 1) {
    const name = parts[0]!;
    const table = tableOfName(name);
    if (table && fileFormat(name) && !name.startsWith('.') && !name.startsWith('_')) return rootExport(layout, table, name);
    return { skip: `"${name}" is not a canonical table's file (<table>${EXPORT_EXTENSIONS.join('|')})` };
  }
  const [table, ...rest] = parts;
  if (!(TABLES as readonly string[]).includes(table ?? '')) return { skip: `"${table}" is not a canonical table` };
  let dt = layout.undatedPartition;
  let name: string;
  if (rest.length === 1) name = rest[0]!;
  else if (rest.length === 2 && DT_RE.test(rest[0]!)) {
    dt = DT_RE.exec(rest[0]!)![1]!;
    name = rest[1]!;
  } else return { skip: 'expected <table>/dt=YYYY-MM-DD/<file> or <table>/<file>' };
  if (!name || name.startsWith('.') || name.startsWith('_')) return { skip: 'hidden or empty file name' };
  if (!fileFormat(name)) return { skip: `not ${EXPORT_EXTENSIONS.join(', ')}` };
  return {
    table: table as TableName,
    dt,
    name,
    curatedKey: `${layout.curatedPrefix}/${table}/dt=${dt}/${name}.parquet`,
  };
}
