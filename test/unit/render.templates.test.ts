import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCALES, ReportDefSchema } from '../../functions/pipeline/reportsConfig.js';
import { codePointsOf, familyCoverage, uncoveredChars } from '../../functions/render/fonts.js';
import { builtinMessages, lookup, messageKeys } from '../../functions/render/messages.js';
import { buildReportModel, renderHtml, TemplateError } from '../../functions/render/renderReport.js';
import { checkTemplates, checkTemplatesStrict, compileTemplates, cssString, plainParseError, templateSamples } from '../../functions/render/templates.js';
import { copyTemplates, DEFAULT_TEMPLATES } from '../support/templatesCopy.js';
import { INDICATOR_IDS } from '../../functions/metrics/indicators.js';
import { type MetricsJson, type SegmentResult } from '../../functions/metrics/schema.js';

const fixture = (): MetricsJson => JSON.parse(readFileSync(new URL('../../templates/sample.metrics.json', import.meta.url), 'utf8'));
const trend = () => Array.from({ length: 12 }, (_, i) => ({ period: `2026-${String(i + 1).padStart(2, '0')}`, value: null, n: 0 }));
const segment = (value: number, n: number): SegmentResult => ({ value, n, status: 'no_target', lowSample: false, previous: null, yearAgo: null, trend: trend() });
/** The HTML of the element whose id is `id`, up to the next <section>. */
function sectionOf(html: string, id: string): string {
  const start = html.lastIndexOf('<section', html.indexOf(`id="${id}"`));
  const end = html.indexOf('<section', start + 1);
  return html.slice(start, end < 0 ? undefined : end);
}
const report = ReportDefSchema.parse({ id: 'monthly-service-review', title: 'Monthly review', organisation: 'Northwind', timezone: 'Europe/Moscow' });

let cleanups: (() => void)[] = [];
afterEach(() => {
  cleanups.forEach((c) => c());
  cleanups = [];
});
function temp() {
  const t = copyTemplates();
  cleanups.push(t.cleanup);
  return t.dir;
}
function expectTemplateError(fn: () => unknown, file: string, line: number, detail: RegExp) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TemplateError);
  const te = err as TemplateError;
  expect({ file: te.file, line: te.line }).toEqual({ file, line });
  expect(te.message).toMatch(detail);
  expect(te.message.startsWith(`${file}:${line}: `)).toBe(true);
}

describe('the default templates', () => {
  it('have no problems', () => {
    expect(checkTemplates(DEFAULT_TEMPLATES)).toEqual([]);
  });

  it('are compiled once and cached until a file changes', () => {
    const dir = temp();
    const a = compileTemplates(dir);
    expect(compileTemplates(dir)).toBe(a);
    const f = join(dir, 'partials', 'cover.hbs');
    writeFileSync(f, `${readFileSync(f, 'utf8')}\n<!-- changed -->\n`);
    expect(compileTemplates(dir)).not.toBe(a);
  });

  it('escape CRM strings: a team called <script> is text, not markup', () => {
    const m = fixture();
    const evil = '<script>alert("x")</script>';
    m.segments.team[evil] = { csat_pct: segment(50, 40) };
    m.segments.channel['<img src=x onerror=alert(1)>'] = { csat_pct: segment(60, 40) };

    const html = renderHtml(buildReportModel(m, report, 'en'), DEFAULT_TEMPLATES);

    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;VIP&lt;/b&gt;');
  });

  it('give the accessibility category its own section after responsiveness, with a wide card per indicator', () => {
    const html = renderHtml(buildReportModel(fixture(), report, 'en'), DEFAULT_TEMPLATES);

    const sections = [...html.matchAll(/<section class="category[^"]*" id="category-(\w+)">/g)].map((x) => x[1]);
    expect(sections.slice(0, 3)).toEqual(['responsiveness', 'accessibility', 'quality']);
    const accessibility = sectionOf(html, 'category-accessibility');
    expect(accessibility).toMatch(/^<section class="category"/);
    expect([...accessibility.matchAll(/<article class="card card-wide" id="indicator-(\w+)">/g)].map((x) => x[1])).toEqual(['answer_speed_avg_s', 'abandon_rate_pct']);
    // per card: a trend chart, the team table and the channel table
    expect(accessibility.match(/<svg class="trend"/g)).toHaveLength(2);
    expect(accessibility.match(/<caption>By team /g)).toHaveLength(2);
    expect(accessibility.match(/<caption>By channel /g)).toHaveLength(2);
  });

  it('show the year-ago value among the facts of every card', () => {
    const m = fixture();
    m.indicators.answer_speed_avg_s!.yearAgo = 54.699;

    const html = renderHtml(buildReportModel(m, report, 'en'), DEFAULT_TEMPLATES);

    expect(sectionOf(html, 'category-accessibility')).toContain('<div><dt>A year ago</dt><dd>54.7\u00a0sec</dd></div>');
  });

  it('say on the data-quality page which columns no file has', () => {
    const m = fixture();
    m.dataQuality.tickets.missingColumns = ['reopened_count'];

    const html = renderHtml(buildReportModel(m, report, 'en'), DEFAULT_TEMPLATES);

    const dq = html.slice(html.indexOf('<section class="dq page-start">'), html.indexOf('<section class="appendix'));
    expect(dq).toContain('<span>Tickets: no file has the column reopened_count. Shown as no data for that reason: Reopen rate.</span>');
  });

  it('escape a report title inside the CSS of the running header', () => {
    const html = renderHtml(buildReportModel(fixture(), { ...report, title: 'A "quoted" </style><script>x</script>' }, 'en'), DEFAULT_TEMPLATES);
    const style = html.slice(html.indexOf('<style>'), html.indexOf('</style>') + 8);
    expect(style).toContain('@top-left { content: "A \\"quoted\\" \\3c /style>\\3c script>x\\3c /script>"; }');
    expect(html).not.toMatch(/<script/i);
  });

  it('put the page counters into the footer in every locale', () => {
    expect(cssString('Стр. ')).toBe('"Стр. "');
    for (const locale of LOCALES) {
      const html = renderHtml(buildReportModel(fixture(), { ...report, locale }, locale), DEFAULT_TEMPLATES);
      expect(html).toMatch(/@bottom-right \{ content: "[^"]*" counter\(page\) "[^"]*" counter\(pages\)/);
    }
  });
});

describe('template errors name the file and line', () => {
  it('syntax error', () => {
    const dir = temp();
    writeFileSync(join(dir, 'partials', 'cover.hbs'), '<section>\n  {{#if title}}\n  <p>{{title}</p>\n{{/if}}\n');
    expectTemplateError(() => compileTemplates(dir), 'partials/cover.hbs', 3, /syntax error/);
  });

  it('unknown helper', () => {
    const dir = temp();
    writeFileSync(join(dir, 'partials', 'cover.hbs'), '<section>\n\n  <p>{{formatMoney title "EUR"}}</p>\n</section>\n');
    expectTemplateError(() => compileTemplates(dir), 'partials/cover.hbs', 3, /unknown helper "formatMoney"/);
  });

  it('unknown partial', () => {
    const dir = temp();
    writeFileSync(join(dir, 'report.hbs'), readFileSync(join(dir, 'report.hbs'), 'utf8').replace('{{> cover}}', '{{> frontPage}}'));
    const line = readFileSync(join(dir, 'report.hbs'), 'utf8').split('\n').findIndex((l) => l.includes('frontPage')) + 1;
    expectTemplateError(() => compileTemplates(dir), 'report.hbs', line, /unknown partial "frontPage"/);
  });

  it('unknown indicator id, as a literal (at compile time) and as a value (at render time)', () => {
    const dir = temp();
    writeFileSync(join(dir, 'partials', 'cover.hbs'), '<section>\n<p>{{indicatorName "csat_percent"}}</p>\n</section>\n');
    expectTemplateError(() => compileTemplates(dir), 'partials/cover.hbs', 2, /unknown indicator id "csat_percent"/);

    const dir2 = temp();
    writeFileSync(join(dir2, 'partials', 'cover.hbs'), '<section>\n\n\n<p>{{indicatorName title}}</p>\n</section>\n');
    const model = buildReportModel(fixture(), report, 'en');
    expectTemplateError(() => renderHtml(model, dir2), 'partials/cover.hbs', 4, /unknown indicator id "Monthly review"/);
  });

  it('unknown message key at render time', () => {
    const dir = temp();
    writeFileSync(join(dir, 'partials', 'cover.hbs'), '<section>\n<p>{{t "labels.noSuchLabel"}}</p>\n</section>\n');
    expectTemplateError(() => renderHtml(buildReportModel(fixture(), report, 'en'), dir), 'partials/cover.hbs', 2, /no message "labels.noSuchLabel"/);
  });

  it('lists every problem of a folder at once', () => {
    const dir = temp();
    writeFileSync(join(dir, 'partials', 'cover.hbs'), '{{nope 1}}\n{{> missing}}\n');
    writeFileSync(join(dir, 'partials', 'summary.hbs'), '{{#each x}}\n');
    const problems = checkTemplates(dir).map((p) => p.message);
    expect(problems).toEqual([
      'partials/cover.hbs:1: unknown helper "nope"',
      'partials/cover.hbs:2: unknown partial "missing"',
      expect.stringMatching(/^partials\/summary\.hbs:\d+: syntax error/),
    ]);
  });
});

describe('locale messages', () => {
  const en = messageKeys(builtinMessages('en')).sort();

  it.each(LOCALES)('%s has exactly the keys of en', (locale) => {
    expect(messageKeys(builtinMessages(locale)).sort()).toEqual(en);
  });

  it.each(LOCALES)('%s names and defines every indicator', (locale) => {
    for (const id of INDICATOR_IDS) for (const part of ['name', 'population', 'value']) expect(typeof lookup(builtinMessages(locale), `indicators.${id}.${part}`)).toBe('string');
  });

  it.each(LOCALES)('%s uses only characters the embedded fonts can draw', (locale) => {
    expect(uncoveredChars(codePointsOf(JSON.stringify(builtinMessages(locale))))).toEqual([]);
  });
});

describe('fonts', () => {
  it('read coverage from the real cmap of the woff2 files', () => {
    const latin = familyCoverage('Noto Sans');
    const sc = familyCoverage('Noto Sans SC');
    for (const ch of 'AzЖё€') expect(latin.has(ch.codePointAt(0)!)).toBe(true);
    for (const ch of '售后服务报告') expect(sc.has(ch.codePointAt(0)!)).toBe(true);
    expect(uncoveredChars(codePointsOf('Team 🚀 售后'))).toEqual(['🚀']);
  });
});

describe('strict check: every template rendered in strict mode against complete sample models', () => {
  /** A copy of the default templates with `lines` put first in the cover (line 1 onward). */
  function coverWith(...lines: string[]): string {
    const dir = temp();
    const f = join(dir, 'partials', 'cover.hbs');
    writeFileSync(f, `${lines.join('\n')}\n${readFileSync(f, 'utf8')}`);
    return dir;
  }
  const strict = (dir: string) => checkTemplatesStrict(dir, templateSamples(dir, report)).map((p) => p.message);

  it('passes the default templates', () => {
    expect(strict(DEFAULT_TEMPLATES)).toEqual([]);
  });

  it('renders with the sample metrics as they are and completed, in every locale', () => {
    const samples = templateSamples(DEFAULT_TEMPLATES, report);

    expect(samples.map((x) => x.label)).toEqual(LOCALES.flatMap((l) => [`the sample metrics in ${l}`, `the complete sample in ${l}`]));
    // The complete sample shows what the plain one may not: every status, a failed export, a missing table.
    const complete = samples[1]!.model;
    expect(new Set(Object.values(complete.indicators).map((i) => i.status))).toEqual(new Set(['met', 'at_risk', 'missed', 'no_target', 'no_data']));
    expect(complete.dataQuality.tables.some((t) => t.failedFiles.length > 0)).toBe(true);
    expect(complete.dataQuality.tables.some((t) => t.state === 'missing')).toBe(true);
  });

  it('finds a misspelt field, which plain rendering prints as nothing', () => {
    const dir = coverWith('<p>{{period.lable}}</p>');

    expect(strict(dir)).toEqual(['partials/cover.hbs:1: unknown field "period.lable" (not in the report model)']);
  });

  it('finds a field of a missing object, and one inside a loop', () => {
    expect(strict(coverWith('', '<p>{{perod.label}}</p>'))).toEqual(['partials/cover.hbs:2: unknown field "perod.label" (not in the report model)']);
    expect(strict(coverWith('{{#each categories}}<p>{{nmae}}</p>{{/each}}'))).toEqual(['partials/cover.hbs:1: unknown field "nmae" (not in the report model)']);
  });

  it('finds an unknown message key, also in a subexpression, once for every locale that lacks it', () => {
    const dir = coverWith('<p>{{t "labels.periodd"}}</p>', '{{#if (t "labels.nope")}}x{{/if}}');

    expect(strict(dir)).toEqual([
      'partials/cover.hbs:1: unknown message key "labels.periodd" (not in locales/en.json, locales/zh-CN.json, locales/ru.json)',
      'partials/cover.hbs:2: unknown message key "labels.nope" (not in locales/en.json, locales/zh-CN.json, locales/ru.json)',
    ]);
  });

  it('accepts optional fields where templates test or loop over them', () => {
    const dir = coverWith(
      '{{#if noSuchFlag}}<p>{{noSuchFlag.deeper}}</p>{{/if}}',
      '{{#if nothing.here}}x{{/if}}{{#unless alsoNothing}}y{{/unless}}',
      '{{#each noList}}{{this.name}}{{else}}none{{/each}}',
      '{{#with period}}{{label}}{{/with}}{{#if (eq missingStatus "met")}}m{{/if}}',
      '{{#each categories}}{{#if @first}}{{name}}{{/if}}{{../period.label}}{{/each}}{{@root.period.id}}',
    );

    expect(strict(dir)).toEqual([]);
  });

  it('reports a syntax error in plain words with its line, before rendering anything', () => {
    const dir = temp();
    writeFileSync(join(dir, 'partials', 'cover.hbs'), '<section>\n  {{#if title}}\n  <p>{{title}}</p>\n');

    expect(strict(dir)).toEqual(['partials/cover.hbs:2: syntax error: {{#if}} is never closed (no {{/if}} before the end of the file)']);
  });
});

describe('parse errors in plain words', () => {
  it.each([
    ['{{#if x}}a{{/each}}', 1, 'syntax error: {{#if}} is closed by {{/each}}'],
    ['<p>\n{{title}</p>', 2, 'syntax error: found an unexpected character where "}}" or "}}}" or ")" was expected, near "<p>{{title}</p>"'],
    ['{{}}', 1, 'syntax error: found "}}" where a name or value was expected, near "{{}}"'],
    ['a\n{{!-- never closed', 2, 'syntax error: unrecognized text (an unclosed {{!-- comment --}} or {{ … }}?)'],
  ])('%j', (text, line, detail) => {
    let message = '';
    try {
      Handlebars.parse(text);
    } catch (e) {
      message = (e as Error).message;
    }

    expect(plainParseError(message, text)).toEqual({ line, detail });
  });
});

