/**
 * The canonical tables as a metastore sees them: every contract column as text (parsing and
 * validation happen in the indicator SQL), partitioned by the export date `dt` of the curated
 * Parquet layout (`<table>/dt=YYYY-MM-DD/<file>.parquet`). One definition for both metastores:
 * the Glue tables of the AWS stack (infra/constructs/dataCatalog.ts) and the tables registered on
 * a Trino cluster (trinoTables.ts), so the two can never drift.
 */
import { CONTRACT, type TableName } from '../pipeline/contract.js';
import { quoteIdent, sqlString } from './tableSql.js';

export interface CatalogColumn {
  name: string;
  /** Hive type name (Glue); `varchar` on Trino. */
  type: 'string';
  comment: string;
}

/** The partition column: the export date of the file, a Hive `dt=` folder. */
export const PARTITION_COLUMN: CatalogColumn = { name: 'dt', type: 'string', comment: 'export date (Hive partition of the raw export)' };

export function catalogColumns(table: TableName): CatalogColumn[] {
  return CONTRACT[table].columns.map((c) => ({ name: c.name, type: 'string', comment: `${c.type}${c.required ? ', required' : ''}` }));
}

export function catalogDescription(table: TableName): string {
  return `Canonical ${table} (key ${CONTRACT[table].key}); written by the ingest function`;
}

/** Hive type names as Trino spells them. */
const TRINO_TYPE: Record<CatalogColumn['type'], string> = { string: 'varchar' };

/**
 * CREATE TABLE for the Trino Hive connector: the same columns, partition and format as the Glue
 * table, over the curated Parquet at `location` (a URI the catalog's file system reads).
 */
export function trinoCreateTableSql(qualifiedName: string, table: TableName, location: string): string {
  const cols = [...catalogColumns(table), PARTITION_COLUMN].map(
    (c) => `${quoteIdent(c.name)} ${TRINO_TYPE[c.type]} COMMENT ${sqlString(c.comment)}`,
  );
  return `CREATE TABLE ${qualifiedName} (\n  ${cols.join(',\n  ')}\n)
COMMENT ${sqlString(catalogDescription(table))}
WITH (format = 'PARQUET', external_location = ${sqlString(location)}, partitioned_by = ARRAY[${sqlString(PARTITION_COLUMN.name)}])`;
}
