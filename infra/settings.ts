/**
 * Everything the stack is built from, validated at synth: CDK context values (cdk.json or `-c`)
 * and the configuration files that are shipped to the functions (reports, targets, an optional
 * source mapping, templates). Every problem is collected and reported together; `cdk synth` fails
 * naming each file or context key and what is wrong with it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { parseMapping, type Mapping } from '../functions/engine/mappings.js';
import { DEFAULT_EXPORTS_SINCE } from '../functions/ingest/layout.js';
import { ConfigError, formatZodIssues } from '../functions/pipeline/configErrors.js';
import { type ReportsFile } from '../functions/pipeline/reportsConfig.js';
import { checkTemplatesStrict, templateSamples } from '../functions/render/templates.js';
import { parseReports, parseTargets } from '../functions/metrics/config.js';
import { MAIL_LIMITS } from '../functions/deliver/compose.js';

const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
const MIB = 1024 * 1024;

const intLike = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);

export const ContextSchema = z
  .object({
    /** Names the Athena workgroup (as is) and the Glue database (dashes as underscores). */
    name: z.string().regex(/^[a-z][a-z0-9-]{2,40}$/, 'lowercase letters, digits and dashes, 3-41 characters').default('crm-service-report'),
    /** Existing bucket the CRM exports land in; omitted = the stack creates one. */
    exportsBucketName: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name').optional(),
    rawPrefix: z.string().regex(/^([A-Za-z0-9_.-]+\/)+$/, 'a key prefix ending in "/", e.g. raw/').default('raw/'),
    curatedPrefix: z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'a key prefix without trailing "/", e.g. curated').default('curated'),
    /** First export date Athena looks for (partition projection range start; undated exports are filed here). */
    exportsSince: z.iso.date().default(DEFAULT_EXPORTS_SINCE),
    /** From address of report e-mails; its domain (or the address) must be a verified SES identity. */
    sender: z.string().min(3),
    /** The verified SES identity the sender belongs to (a domain or an address). */
    sesIdentity: z.string().min(3),
    sesConfigurationSet: z.string().optional(),
    /** Subscribe this address to the ops topic (optional). */
    opsEmail: z.email().optional(),
    /** Athena stops (and fails) any query that would scan more than this. Minimum 10 MB. */
    bytesScannedCutoffPerQuery: intLike.pipe(z.number().int().min(10 * MIB, 'at least 10485760 (10 MB), the Athena minimum')).default(10 * 1024 * MIB),
    /** Largest PDF, as MIME base64, sent as an attachment; larger ones are sent as a link. */
    attachLimitBytes: intLike.pipe(z.number().int().min(1).max(MAIL_LIMITS.maxMessageBytes, 'at most 40 MB, the SES v2 message limit')).default(MAIL_LIMITS.attachLimitBytes),
    linkExpiresSeconds: intLike.pipe(z.number().int().min(60).max(MAIL_LIMITS.linkExpiresSeconds, 'at most 604800 (7 days), the presigned URL limit')).default(MAIL_LIMITS.linkExpiresSeconds),
    logRetentionDays: intLike.pipe(z.number().refine((d) => (RETENTION_DAYS as readonly number[]).includes(d), `one of ${RETENTION_DAYS.join(', ')}`)).default(90),
    /** A source mapping under config/ (foreign CRM exports), e.g. mappings/olist.yaml. */
    mappingFile: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const domain = c.sender.split('@')[1]?.replace(/>$/, '');
    if (c.sesIdentity !== c.sender && c.sesIdentity !== domain && !c.sender.includes(`<${c.sesIdentity}>`)) {
      ctx.addIssue({ code: 'custom', path: ['sesIdentity'], message: `the sender ${c.sender} is neither this identity nor in its domain` });
    }
  });
export type Context = z.infer<typeof ContextSchema>;

export interface Settings extends Context {
  rootDir: string;
  configDir: string;
  templatesDir: string;
  reports: ReportsFile;
  mapping?: Mapping;
}

/** Reads one context value per key of the schema through `get` (App or Stack node.tryGetContext). */
export function loadSettings(get: (key: string) => unknown, rootDir: string): Settings {
  const problems: string[] = [];
  const raw = Object.fromEntries(Object.keys(ContextSchema.def.shape ?? {}).map((k) => [k, get(k)]).filter(([, v]) => v !== undefined));
  const ctx = ContextSchema.safeParse(raw);
  if (!ctx.success) problems.push(...formatZodIssues(ctx.error).map((p) => `context ${p}`));

  const configDir = join(rootDir, 'config');
  const templatesDir = join(rootDir, 'templates');
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems.map((p) => `${e.file}: ${p}`));
      else problems.push((e as Error).message);
      return undefined;
    }
  };
  const read = (file: string) => {
    const p = join(configDir, file);
    if (!existsSync(p)) throw new ConfigError(`config/${file}`, ['file not found']);
    return readFileSync(p, 'utf8');
  };
  const reports = attempt(() => parseReports(read('reports.yaml'), 'config/reports.yaml'));
  attempt(() => parseTargets(read('targets.yaml'), 'config/targets.yaml'));
  const mappingFile = ctx.success ? ctx.data.mappingFile : undefined;
  const mapping = mappingFile ? attempt(() => parseMapping(read(mappingFile), `config/${mappingFile}`)) : undefined;
  const reportsOf = (template: string) => reports?.reports.filter((r) => r.template === template) ?? [];
  for (const template of new Set(reports?.reports.map((r) => r.template) ?? [])) {
    // As the renderer resolves it: a name is a folder under templates/, a path is relative to the project.
    const isPath = /[\\/]/.test(template) || template.startsWith('.');
    const dir = isPath ? resolve(rootDir, template) : join(templatesDir, template);
    if (isPath && !dir.startsWith(templatesDir + sep)) {
      problems.push(`config/reports.yaml: template "${template}" is outside templates/, which is all the render function receives`);
      continue;
    }
    if (!existsSync(dir)) {
      problems.push(`templates/${template}: folder not found (named by config/reports.yaml)`);
      continue;
    }
    // As `npm run validate` and `npm run report` check it: rendered in Handlebars strict mode against
    // the sample models of each report using it (templates/sample.metrics.json), so a misspelt field
    // or message key fails here with its file and line, not in the render function on the 1st.
    const found = new Set<string>();
    for (const r of reportsOf(template)) {
      for (const err of checkTemplatesStrict(dir, templateSamples(dir, r))) found.add(`templates/${template}/${err.message}`);
    }
    problems.push(...found);
  }
  for (const r of reports?.reports ?? []) {
    if (r.recipients.length === 0) problems.push(`config/reports.yaml: report ${r.id} has no recipients; a scheduled report would reach nobody`);
  }

  if (problems.length || !ctx.success || !reports) {
    throw new ConfigError('cdk synth', problems.length ? problems : ['invalid configuration']);
  }
  return { ...ctx.data, rootDir, configDir, templatesDir, reports, mapping };
}
