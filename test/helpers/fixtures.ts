/** Write small export folders for tests: files[relativePath] = content (string or Buffer). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function writeExports(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'exports-'));
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

/** CSV text from a header and rows (LF line ends, no quoting: write quotes yourself where needed). */
export const csv = (header: string, ...rows: string[]): string => [header, ...rows].join('\n') + '\n';
