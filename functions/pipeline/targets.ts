/**
 * config/targets.yaml: targets and warn levels per indicator (defaults = the spec's table), the
 * sla.* thresholds and min_sample. A target may change from a given period onward: re-running an
 * old period judges it by the target in force then.
 */
import { z } from 'zod';
import { parseYamlConfig, readConfigFile } from './configErrors.js';
import { PERIOD_ID_RE } from './period.js';

const periodId = z.string().regex(PERIOD_ID_RE, 'expected a period YYYY-MM');

/**
 * What the targets file is checked against: per indicator id, its direction and default target
 * and warn level. The metrics stage's declarations provide it (functions/metrics/config.ts binds
 * it), so this domain module depends on nothing above it.
 */
export interface TargetCatalog {
  get(id: string): { direction: 'higher' | 'lower' | 'neutral'; target: number | null; warn: number | null } | undefined;
}

const TargetEntry = z
  .object({
    from: periodId.optional(),
    target: z.number(),
    warn: z.number().nullable().optional(),
  })
  .strict();
type TargetEntry = z.infer<typeof TargetEntry>;

const TargetSpec = z.union([z.null(), TargetEntry, z.array(TargetEntry).min(1)]);

export const TargetsFileSchema = z
  .object({
    min_sample: z.number().int().nonnegative().default(30),
    sla: z
      .object({
        first_response_hours: z.number().positive().default(8),
        complaint_resolution_hours: z.number().positive().default(72),
      })
      .strict()
      .default({ first_response_hours: 8, complaint_resolution_hours: 72 }),
    targets: z.record(z.string(), TargetSpec).default({}),
  })
  .strict();

/**
 * Checks between fields (known id, warn on the right side, neutral takes none, one entry per
 * `from`), run on every entry that is well-formed even when others are not, so that a user sees
 * all problems at once.
 */
function semanticProblems(raw: unknown, catalog: TargetCatalog): string[] {
  const problems: string[] = [];
  const targets = (raw as { targets?: unknown } | null)?.targets;
  if (!targets || typeof targets !== 'object' || Array.isArray(targets)) return problems;
  for (const [id, rawSpec] of Object.entries(targets)) {
    const def = catalog.get(id);
    if (!def) {
      problems.push(`targets.${id}: unknown indicator id "${id}"`);
      continue;
    }
    const parsed = TargetSpec.safeParse(rawSpec);
    if (!parsed.success || parsed.data === null) continue;
    const spec = parsed.data;
    const entries = Array.isArray(spec) ? spec : [spec];
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      const path = Array.isArray(spec) ? `targets.${id}.${i}` : `targets.${id}`;
      if (def.direction === 'neutral') problems.push(`${path}: ${id} is neutral (neither higher nor lower is better) and takes no target`);
      const key = e.from ?? '(always)';
      if (seen.has(key)) problems.push(`${path}.from: two entries apply from ${key}`);
      seen.add(key);
      if (e.warn != null && def.direction === 'higher' && e.warn > e.target) {
        problems.push(`${path}.warn: warn (${e.warn}) must be <= target (${e.target}) when higher is better`);
      }
      if (e.warn != null && def.direction === 'lower' && e.warn < e.target) {
        problems.push(`${path}.warn: warn (${e.warn}) must be >= target (${e.target}) when lower is better`);
      }
    });
  }
  return problems;
}

export interface TargetsConfig {
  minSample: number;
  sla: { firstResponseHours: number; complaintResolutionHours: number };
  /** Per indicator: entries sorted by `from` (undefined first); null = explicitly no target. */
  targets: Record<string, TargetEntry[] | null>;
}

export function parseTargets(text: string, file: string, catalog: TargetCatalog): TargetsConfig {
  const data = parseYamlConfig(text, file, TargetsFileSchema, (raw) => semanticProblems(raw, catalog));
  const targets: TargetsConfig['targets'] = {};
  for (const [id, spec] of Object.entries(data.targets)) {
    targets[id] =
      spec === null ? null : (Array.isArray(spec) ? [...spec] : [spec]).sort((a, b) => (a.from ?? '').localeCompare(b.from ?? ''));
  }
  return {
    minSample: data.min_sample,
    sla: { firstResponseHours: data.sla.first_response_hours, complaintResolutionHours: data.sla.complaint_resolution_hours },
    targets,
  };
}

export function loadTargets(file: string, catalog: TargetCatalog): TargetsConfig {
  return parseTargets(readConfigFile(file), file, catalog);
}

/** The target and warn level in force for `period`: the latest entry whose `from` <= period, else the spec default. */
export function targetFor(cfg: TargetsConfig, id: string, period: string, catalog: TargetCatalog): { target: number | null; warn: number | null } {
  const def = catalog.get(id);
  if (!def) throw new Error(`unknown indicator id "${id}"`);
  const entries = cfg.targets[id];
  if (entries === null) return { target: null, warn: null };
  const applicable = (entries ?? []).filter((e) => e.from === undefined || e.from <= period);
  const e = applicable[applicable.length - 1];
  if (!e) return { target: def.target, warn: def.warn };
  return { target: e.target, warn: e.warn ?? null };
}

