/** Turns written CSV files into .csv.gz or .parquet (every column VARCHAR), removing the CSV. */
import { createReadStream, createWriteStream, unlinkSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export async function convertFiles(files: readonly string[], format: 'csv.gz' | 'parquet'): Promise<void> {
  if (format === 'csv.gz') {
    for (const f of files) {
      await pipeline(createReadStream(f), createGzip({ level: 6 }), createWriteStream(`${f}.gz`));
      unlinkSync(f);
    }
    return;
  }
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    for (const f of files) {
      const out = f.replace(/\.csv$/, '.parquet');
      await con.run(
        `COPY (SELECT * FROM read_csv(${lit(f)}, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"', hive_partitioning = false)) ` +
          `TO ${lit(out)} (FORMAT parquet)`,
      );
      unlinkSync(f);
    }
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
