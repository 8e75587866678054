/**
 * The render stage: metrics.json -> report model -> HTML (Handlebars) -> PDF (Chromium).
 *
 *   buildReportModel(metrics, report, locale)   pure: every label and number, formatted
 *   renderHtmlWithReport(model, templatesDir)   the final, self-contained HTML (fonts cut and inlined)
 *   renderReport({ metrics, report, ... })      both, then the PDF, under one timeout
 */
import type { Browser } from 'puppeteer-core';
import type { Locale, ReportDef } from '../pipeline/reportsConfig.js';
import { htmlToPdf, withBrowser, withTimeout } from './browser.js';
import { codePointsOf, fontFaceCss, subsetFontFaceCss, uncoveredChars } from './fonts.js';
import { loadMessages, templatesDirFor } from './messages.js';
import { buildReportModel, type ReportModel } from './reportModel.js';
import { compileTemplates } from './templates.js';
import { type MetricsJson } from '../metrics/schema.js';

export { buildReportModel, type ReportModel } from './reportModel.js';
export { TemplateError } from './templates.js';
export { RenderTimeoutError } from './browser.js';

/** The templates folder a report definition names (messages.ts: the deliver step needs it without Chromium). */
export { templatesDirFor } from './messages.js';

export interface RenderedHtml {
  html: string;
  /** Characters no embedded font can draw (they would print as boxes). */
  missingGlyphs: string[];
}

/**
 * Renders the model with the folder's templates and inlines the fonts the page needs, each cut
 * to the glyphs the page draws (fonts.ts: subsetFontFaceCss). This is the HTML the PDF is printed from.
 */
export async function renderHtmlWithReport(model: ReportModel, templatesDir: string): Promise<RenderedHtml> {
  const body = compileTemplates(templatesDir).render(model);
  return { html: withFonts(body, await subsetFontFaceCss(body, model.locale)), missingGlyphs: uncoveredChars(codePointsOf(stripTags(body))) };
}

function withFonts(body: string, css: string): string {
  const fonts = `<style id="embedded-fonts">\n${css}\n</style>`;
  const at = body.search(/<\/head>/i);
  return at >= 0 ? `${body.slice(0, at)}${fonts}\n${body.slice(at)}` : `${fonts}\n${body}`;
}

function stripTags(html: string): string {
  return html.replace(/<style[\s\S]*?<\/style>/gi, ' ').replace(/<[^>]+>/g, ' ');
}

/**
 * The final HTML of a report model, synchronously (the HTML preview): the same page, with the
 * font files it needs inlined whole rather than cut to its glyphs.
 */
export function renderHtml(model: ReportModel, templatesDir: string): string {
  const body = compileTemplates(templatesDir).render(model);
  return withFonts(body, fontFaceCss(body, model.locale));
}

export interface RenderReportInput {
  metrics: MetricsJson;
  report: ReportDef;
  /** A templates folder (default: templates/<report.template>). */
  templatesDir?: string;
  /** Default: the report definition's locale. */
  locale?: Locale;
  /** The manager's commentary in Markdown for the first page (functions/render/commentary.ts); none when absent. */
  commentary?: string | null;
  /** Milliseconds for the whole render, Chromium start included (default 60 s). */
  timeoutMs?: number;
  /** An already running browser to render with (it is not closed); default: launch one and close it. */
  browser?: Browser;
  /** How to start Chromium when no browser is given (tests inject a spy here). */
  launch?: () => Promise<Browser>;
}

export interface RenderReportResult {
  html: string;
  pdf: Uint8Array;
  /** URLs the page tried to load and was refused. */
  blocked: string[];
  missingGlyphs: string[];
}

export async function renderReport(input: RenderReportInput): Promise<RenderReportResult> {
  const locale = input.locale ?? input.report.locale;
  const templatesDir = input.templatesDir ?? templatesDirFor(input.report);
  const timeoutMs = input.timeoutMs ?? 60_000;
  const model = buildReportModel(input.metrics, input.report, locale, loadMessages(locale, templatesDir), { commentary: input.commentary });
  const { html, missingGlyphs } = await renderHtmlWithReport(model, templatesDir);
  const toPdf = async (browser: Browser) => {
    const { pdf, blocked } = await htmlToPdf(browser, html, { timeoutMs });
    return { html, pdf, blocked, missingGlyphs };
  };
  if (input.browser) {
    const browser = input.browser;
    return withTimeout(timeoutMs, 'report rendering', () => toPdf(browser));
  }
  return withBrowser(toPdf, { timeoutMs, launch: input.launch });
}
