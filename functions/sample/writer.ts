/**
 * Streams CSV rows of one table into Hive partitions `<root>/<table>/dt=YYYY-MM-DD/part-NNN.csv`.
 * Each partition keeps a small buffer and is flushed with synchronous writes, so memory stays flat
 * whatever the row count; a partition rolls over to the next part file after `maxRowsPerFile`.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const BUFFER_BYTES = 128 * 1024;

/** RFC 4180: quote a field holding a comma, quote or line break; double inner quotes. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
}

export interface WriterOptions {
  /** Start every file with a UTF-8 byte order mark. */
  bom?: boolean;
  /** Line end: LF (default) or CRLF. */
  eol?: '\n' | '\r\n';
  maxRowsPerFile?: number;
}

interface Part {
  dir: string;
  fd: number;
  file: number;
  rows: number;
  buf: Buffer;
  used: number;
}

export class PartitionedCsvWriter {
  readonly files: string[] = [];
  private readonly parts = new Map<string, Part>();
  private readonly headerLine: string;
  private readonly eol: string;
  private readonly maxRows: number;

  constructor(
    private readonly tableDir: string,
    header: readonly string[],
    private readonly opts: WriterOptions = {},
  ) {
    this.eol = opts.eol ?? '\n';
    this.maxRows = opts.maxRowsPerFile ?? 250_000;
    this.headerLine = (opts.bom ? '\ufeff' : '') + header.map(csvField).join(',') + this.eol;
  }

  /** Appends one row (already formatted fields, '' for null) to the partition of export date `dt`. */
  write(dt: string, fields: readonly string[]): void {
    let p = this.parts.get(dt);
    if (!p) {
      const dir = join(this.tableDir, `dt=${dt}`);
      mkdirSync(dir, { recursive: true });
      p = { dir, fd: -1, file: -1, rows: 0, buf: Buffer.allocUnsafe(BUFFER_BYTES), used: 0 };
      this.parts.set(dt, p);
      this.openNext(p);
    } else if (p.rows >= this.maxRows) {
      this.flush(p);
      closeSync(p.fd);
      this.openNext(p);
    }
    let line = '';
    for (let i = 0; i < fields.length; i++) line += (i ? ',' : '') + csvField(fields[i]!);
    this.append(p, line + this.eol);
    p.rows++;
  }

  close(): void {
    for (const p of this.parts.values()) {
      this.flush(p);
      closeSync(p.fd);
    }
    this.parts.clear();
    this.files.sort();
  }

  private openNext(p: Part): void {
    p.file++;
    p.rows = 0;
    const path = join(p.dir, `part-${String(p.file).padStart(3, '0')}.csv`);
    this.files.push(path);
    p.fd = openSync(path, 'w');
    this.append(p, this.headerLine);
  }

  /** Encodes into the partition's buffer (a UTF-16 unit is at most 3 UTF-8 bytes). */
  private append(p: Part, text: string): void {
    if (p.used + text.length * 3 > p.buf.length) {
      this.flush(p);
      if (text.length * 3 > p.buf.length) {
        writeSync(p.fd, text, null, 'utf8');
        return;
      }
    }
    p.used += p.buf.write(text, p.used, 'utf8');
  }

  private flush(p: Part): void {
    if (p.used === 0) return;
    writeSync(p.fd, p.buf, 0, p.used);
    p.used = 0;
  }
}
