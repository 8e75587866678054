/** What every table generator provides to the driver (generate.ts). */
import { CONTRACT, type TableName } from '../pipeline/contract.js';
import type { TableDef } from '../pipeline/contract.js';
import type { Val } from './inject.js';
import type { Rng } from './rng.js';
import type { Style } from './time.js';
import type { WriterOptions } from './writer.js';

/** One version of a record: cells in contract column order, and its source's timestamp style. */
export interface Rec {
  v: Val[];
  style: Style;
}

export interface TableGen {
  def: TableDef;
  records: number;
  /** Emits the records in index order (the index drives which ones get defects). */
  forEach(emit: (r: Rec) => void): void;
  /** Timestamp columns always written in one style (e.g. bare dates). */
  fixedStyle?: Partial<Record<string, Style>>;
  /** How bool columns are spelled, [true, false]; default true/false. */
  boolText?: Partial<Record<string, readonly [string, string]>>;
  writer?: WriterOptions;
  /** Adjusts an older version after the timestamps after its cut were cleared. */
  fixOlder?(v: Val[], rng: Rng): void;
}

/** Column name -> position in the contract's column order. */
export function columnIndex(table: TableName): Record<string, number> {
  return Object.fromEntries(CONTRACT[table].columns.map((c, i) => [c.name, i]));
}

export const blank = (table: TableName): Val[] => new Array<Val>(CONTRACT[table].columns.length).fill(null);

export const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** updated_at: some minutes to hours after the last event, but before the horizon. */
export function lastUpdate(rng: Rng, last: number, horizon: number): number {
  const lag = 120_000 + Math.floor(rng.lognormal(2 * 3_600_000, 1.2));
  return Math.max(last + 120_000, Math.min(last + lag, horizon - 1_000));
}

/** null when the time is at or after the horizon (the event has not happened yet). */
export const seen = (t: number | null, horizon: number): number | null => (t !== null && t < horizon ? t : null);
