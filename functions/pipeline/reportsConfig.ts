/**
 * config/reports.yaml: the report definitions (id, title, locale, time zone, template, indicators,
 * breakdowns, recipients, schedule, burst), validated with zod. Every problem is reported with its path.
 */
import { z } from 'zod';
import { ConfigError, isValidTimeZone, parseYamlConfig, readConfigFile } from './configErrors.js';
import { GateDefSchema } from './gateConfig.js';

export const LOCALES = ['en', 'zh-CN', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];


/**
 * Bursting: besides the company report, one report per team (or channel), holding that segment's
 * own figures beside the company's (functions/render/burst.ts), each mailed to its own recipients.
 * `recipients` maps a segment value exactly as the data spells it (`Техподдержка`, `售后服务`) to
 * its addresses; a value of the data nobody owns goes to `fallback`, and ops are told.
 */
export const BurstDefSchema = z
  .object({
    by: z.enum(['team', 'channel']),
    recipients: z.record(z.string().min(1, 'a team or channel name'), z.array(z.email()).min(1, 'at least one address')).default({}),
    /** Who receives the report of a segment value that `recipients` does not name. */
    fallback: z.array(z.email()).default([]),
  })
  .strict();
export type BurstDef = z.infer<typeof BurstDefSchema>;

export const ReportDefSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
    title: z.string().min(1),
    /** The title in other languages, used when the report is rendered in that locale (--locale). */
    titles: z.partialRecord(z.enum(LOCALES), z.string().min(1)).default({}),
    organisation: z.string().default(''),
    locale: z.enum(LOCALES).default('en'),
    timezone: z.string().refine(isValidTimeZone, { message: 'unknown IANA time zone' }),
    /** Templates folder: a name under templates/ (`default`), or a path (`./my-templates`) relative to the working directory. */
    template: z.string().min(1).default('default'),
    /** Indicator ids to show; omitted = all 32, in catalog order. */
    indicators: z.array(z.string()).optional(),
    breakdowns: z.array(z.enum(['team', 'channel'])).default(['team', 'channel']),
    recipients: z.array(z.email()).default([]),
    /** EventBridge Scheduler cron expression, evaluated in `timezone`. */
    schedule: z
      .string()
      .regex(/^cron\(.+\)$/, 'an EventBridge Scheduler cron(...) expression')
      .default('cron(0 7 1 * ? *)'),
    /** Warn on the data-quality page when a table's newest record is older than this many days before period end. */
    staleAfterDays: z.number().int().positive().default(7),
    /** The data gate: when the report is held instead of rendered or sent (functions/pipeline/gateConfig.ts). */
    gate: GateDefSchema.default(GateDefSchema.parse({})),
    /** One report per team or channel as well, each to its own recipients (see BurstDefSchema). */
    burst: BurstDefSchema.optional(),
  })
  .strict();
export type ReportDef = z.infer<typeof ReportDefSchema>;

/** The report's title in `locale`: its translation when given, else the title as written. */
export function reportTitle(report: Pick<ReportDef, 'title' | 'titles'>, locale: Locale): string {
  return report.titles?.[locale] ?? report.title;
}

export const ReportsFileSchema = z
  .object({ reports: z.array(ReportDefSchema).min(1) })
  .strict()
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.reports.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['reports', i, 'id'], message: `duplicate report id "${r.id}"` });
      seen.add(r.id);
    });
  });
export type ReportsFile = z.infer<typeof ReportsFileSchema>;

/**
 * The report definitions of a reports file; `indicatorIds` are the ids a report may list (the
 * metrics stage's catalog: functions/metrics/config.ts binds it).
 */
export function parseReports(text: string, file: string, indicatorIds: readonly string[]): ReportsFile {
  const unknownIds = (raw: unknown): string[] => {
    const reports = (raw as { reports?: unknown } | null)?.reports;
    if (!Array.isArray(reports)) return [];
    return reports.flatMap((r, i) => {
      const ids = (r as { indicators?: unknown } | null)?.indicators;
      if (!Array.isArray(ids)) return [];
      return ids.flatMap((id, k) => (typeof id === 'string' && !indicatorIds.includes(id) ? [`reports.${i}.indicators.${k}: unknown indicator id`] : []));
    });
  };
  return parseYamlConfig(text, file, ReportsFileSchema, unknownIds);
}

export function loadReports(file: string, indicatorIds: readonly string[]): ReportsFile {
  return parseReports(readConfigFile(file), file, indicatorIds);
}

export function findReport(file: ReportsFile, id: string | undefined): ReportDef {
  if (!id) return file.reports[0]!;
  const r = file.reports.find((x) => x.id === id);
  if (!r) throw new ConfigError('reports', [`no report "${id}"; known: ${file.reports.map((x) => x.id).join(', ')}`]);
  return r;
}
