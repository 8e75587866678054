import { type TableName } from '../pipeline/contract.js';
/**
 * The query engine seam. The indicator SQL (Trino dialect, see indicatorSql.ts) is run by one of
 * two implementations: DuckDB embedded (duckdbEngine.ts, local default) or Amazon Athena
 * (athenaEngine.ts, production). Both expose the six canonical tables of the data contract under
 * their bare names, every column as VARCHAR (raw text; parsing and validation happen in the SQL).
 */

export type SqlValue = string | number | boolean | null;
export type SqlRow = Record<string, SqlValue>;

export interface QueryEngine {
  readonly name: 'duckdb' | 'athena' | 'trino';
  /** Runs one SQL text and returns its rows; integers and decimals come back as JS numbers. */
  query(sql: string, label?: string): Promise<SqlRow[]>;
  /** The canonical tables that have at least one file (a present table may still be empty). */
  presentTables(): Promise<Set<TableName>>;
  /**
   * The canonical columns that at least one file of a present table has (for a mapped table: the
   * columns its SELECT yields); null when the engine cannot tell (every column is then taken as
   * present). An optional column that no file has makes the indicators reading it no_data.
   */
  columnsPresent?(table: TableName): Promise<ReadonlySet<string> | null>;
  /**
   * The raw exports of a table that the ingest could not normalize (and that were not fixed or
   * removed since), with the error; their rows are missing from every report. Only engines that
   * read curated copies implement it (Athena); local engines read the raw files themselves and
   * stop on one they cannot read. With `period`, only the exports that can hold records of that
   * period or later versions of them (made during or after it; see athenaEngine.ts).
   */
  failedImports?(table: TableName, period?: FailedImportsPeriod): Promise<FailedImport[]>;
  close(): Promise<void>;
}

/** The report period failed imports are counted for. */
export interface FailedImportsPeriod {
  /** The period's first instant (epoch ms), in the report's time zone. */
  startMs: number;
}

export interface FailedImport {
  /** The raw export's key. */
  file: string;
  /** One line: why it could not be normalized. */
  error: string;
}

export class EngineError extends Error {
  override name = 'EngineError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
