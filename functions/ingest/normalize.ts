/**
 * Normalizing exports into canonical Parquet with DuckDB and the same reader as the local engine
 * (engine/exportReader.ts via openDuckDbEngine): every canonical column as text, in contract
 * order, one output row per input row. Nothing is parsed here, so a value that would fail to
 * parse reaches the validation SQL unchanged and is counted there, exactly as on a local run.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { openDuckDbEngine } from '../engine/duckdbEngine.js';
import { describeKinds } from '../engine/exportReader.js';
import type { Mapping } from '../engine/mappings.js';
import { sqlString } from '../engine/tableSql.js';
import { type TableName } from '../pipeline/contract.js';

export interface NormalizeResult {
  rows: number;
  file: string;
  /** The canonical columns the export has (the others are written as nulls). */
  columns: string[];
  /** How the export was read, for the progress log: `GB18030, ';'`, `Parquet`, `Excel sheet "tickets"`. */
  read?: string;
}

/** DuckDB settings for a small container: bounded memory, spill to /tmp, no writes to $HOME. */
export function duckdbSettings(workDir: string, memoryLimit = '1GB'): Record<string, string> {
  return { threads: '2', memory_limit: memoryLimit, temp_directory: join(workDir, 'duckdb-tmp'), home_directory: workDir };
}

async function copyTable(engine: Awaited<ReturnType<typeof openDuckDbEngine>>, table: TableName, out: string): Promise<number> {
  await engine.connection.run(`COPY (SELECT * FROM ${table}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`);
  const r = await engine.query(`SELECT count(*) AS n FROM read_parquet(${sqlString(out)})`);
  return Number(r[0]!['n']);
}

/**
 * One export file of a canonical table -> one Parquet file with the table's canonical columns.
 * A file with no header row gives an empty Parquet file (the table is present, with no rows).
 */
export async function normalizeExport(opts: {
  table: TableName;
  input: string;
  output: string;
  memoryLimit?: string;
  /** Where the file sits under its table folder (e.g. `dt=2026-10-01/a.csv`), as errors name it; default its own name. */
  path?: string;
}): Promise<NormalizeResult> {
  const work = await mkdtemp(join(tmpdir(), 'normalize-'));
  try {
    // The reader finds files by table folder; link the input there under its own path (a path
    // `../<name>` puts it in the data folder itself, as a table's file or a workbook there).
    const link = join(work, 'data', opts.table, opts.path ?? basename(opts.input));
    await mkdir(dirname(link), { recursive: true });
    await symlink(resolve(opts.input), link);
    const engine = await openDuckDbEngine({ dataDir: join(work, 'data'), settings: duckdbSettings(work, opts.memoryLimit) });
    try {
      const columns = [...((await engine.columnsPresent(opts.table)) ?? [])];
      const read = describeKinds(engine.connection, engine.files[opts.table]).join(' + ');
      return { rows: await copyTable(engine, opts.table, opts.output), file: opts.output, columns, read };
    } finally {
      await engine.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Foreign exports under `dataDir` (laid out as the mapping's sources expect) -> one Parquet file
 * per table the mapping yields, in `outDir` as `<table>.parquet`.
 */
export async function normalizeMapped(opts: {
  mapping: Mapping;
  dataDir: string;
  outDir: string;
  memoryLimit?: string;
}): Promise<Partial<Record<TableName, NormalizeResult>>> {
  const work = await mkdtemp(join(tmpdir(), 'normalize-'));
  try {
    // The mapping's sandbox lets the session write only the output folder besides the data and temp files.
    const engine = await openDuckDbEngine({ dataDir: opts.dataDir, mapping: opts.mapping, settings: duckdbSettings(work, opts.memoryLimit), allowedDirectories: [opts.outDir] });
    try {
      const out: Partial<Record<TableName, NormalizeResult>> = {};
      for (const table of Object.keys(opts.mapping.tables) as TableName[]) {
        const file = join(opts.outDir, `${table}.parquet`);
        out[table] = { rows: await copyTable(engine, table, file), file, columns: [...((await engine.columnsPresent(table)) ?? [])] };
      }
      return out;
    } finally {
      await engine.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
