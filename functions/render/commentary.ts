/**
 * The manager's commentary on the first page: an analyst's Markdown file per report, period and
 * locale, kept at `<commentary dir>/<reportId>/<period>.<locale>.md`
 * (e.g. `config/commentary/monthly-service-review/2026-11.ru.md`). No file: no commentary block.
 * On AWS the render function reads the same name under `commentary/` in the archive bucket
 * (commentaryKey; ../handlers/render.ts).
 *
 * The Markdown is rendered with markdown-it, raw HTML disabled: a `<script>` or any other tag
 * written in the file prints as text. Links keep their text and show their address after it
 * (they are not made into live links, and nothing is fetched); images print as their alt text,
 * so the page never asks for a URL. Links markdown-it judges unsafe (javascript:, data: …) stay
 * plain text too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import MarkdownIt from 'markdown-it';

/** Where `npm run report` looks when `--commentary` is not given (used only if the folder exists). */
export const DEFAULT_COMMENTARY_DIR = 'config/commentary';

/** The file holding the commentary of one report, period and locale. */
export function commentaryPath(dir: string, reportId: string, period: string, locale: string): string {
  return join(dir, reportId, `${period}.${locale}.md`);
}

/** The S3 key of the commentary of one report, period and locale (in the archive bucket): `commentary/<reportId>/<period>.<locale>.md`. */
export function commentaryKey(reportId: string, period: string, locale: string): string {
  return `commentary/${reportId}/${period}.${locale}.md`;
}

/** A commentary file's text as the page takes it: without a byte-order mark; null when blank. */
export function commentaryText(raw: string): string | null {
  const text = raw.replace(/^\uFEFF/, '');
  return text.trim() === '' ? null : text;
}

/** The commentary's Markdown, or null when there is no file for this report, period and locale. */
export function readCommentary(dir: string, reportId: string, period: string, locale: string): string | null {
  const file = commentaryPath(resolve(dir), reportId, period, locale);
  if (!existsSync(file)) return null;
  return commentaryText(readFileSync(file, 'utf8'));
}

/** The commentary folder to use: the one given, else config/commentary when it exists, else none. */
export function commentaryDirFor(given: string | undefined): string | undefined {
  if (given) {
    if (!existsSync(given)) throw new Error(`--commentary ${given}: no such folder`);
    return given;
  }
  return existsSync(DEFAULT_COMMENTARY_DIR) ? DEFAULT_COMMENTARY_DIR : undefined;
}

const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: false });
// Links: their text, then the address in brackets, as plain text (no <a>, so nothing to follow).
md.renderer.rules.link_open = () => '';
md.renderer.rules.link_close = (tokens, idx) => {
  // The matching link_open carries the href.
  let depth = 0;
  for (let i = idx - 1; i >= 0; i--) {
    const t = tokens[i]!;
    if (t.type === 'link_close') depth++;
    if (t.type === 'link_open') {
      if (depth === 0) {
        const href = String(t.attrGet('href') ?? '');
        return href ? ` <span class="cm-url">(${md.utils.escapeHtml(href)})</span>` : '';
      }
      depth--;
    }
  }
  return '';
};
// Images: their alt text only; the page never loads a URL.
md.renderer.rules.image = (tokens, idx) => md.utils.escapeHtml(tokens[idx]!.content);

/** Markdown -> safe HTML for the commentary block. */
export function renderCommentary(markdown: string): string {
  return md.render(markdown);
}
