/**
 * The query engine seam. The indicator SQL (Trino dialect, see indicatorSql.ts) is run by one of
 * two implementations: DuckDB embedded (duckdbEngine.ts, local default) or Amazon Athena
 * (athenaEngine.ts, production). Both expose the six canonical tables of the data contract under
 * their bare names, every column as VARCHAR (raw text; parsing and validation happen in the SQL).
 */
import type { TableName } from '../pipeline/catalog.js';

export type SqlValue = string | number | boolean | null;
export type SqlRow = Record<string, SqlValue>;

export interface QueryEngine {
  readonly name: 'duckdb' | 'athena' | 'trino';
  /** Runs one SQL text and returns its rows; integers and decimals come back as JS numbers. */
  query(sql: string, label?: string): Promise<SqlRow[]>;
  /** The canonical tables that have at least one file (a present table may still be empty). */
  presentTables(): Promise<Set<TableName>>;
  close(): Promise<void>;
}

export class EngineError extends Error {
  override name = 'EngineError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
