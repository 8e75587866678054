/** A temporary copy of the default templates folder that a test may break or change. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_TEMPLATES = fileURLToPath(new URL('../../templates/default/', import.meta.url));

export function copyTemplates(): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'report-templates-'));
  const dir = join(root, 'default');
  cpSync(DEFAULT_TEMPLATES, dir, { recursive: true });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
