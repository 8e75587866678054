/**
 * The configuration files as the metrics stage reads them: targets and report definitions checked
 * against the indicator declarations (their ids, directions and default targets). The parsing
 * itself lives with the domain (pipeline/targets.ts, pipeline/reportsConfig.ts).
 */
import * as reports from '../pipeline/reportsConfig.js';
import * as targets from '../pipeline/targets.js';
import { INDICATOR_BY_ID, INDICATOR_IDS } from './indicators.js';

export type { TargetsConfig } from '../pipeline/targets.js';

export const parseTargets = (text: string, file: string): targets.TargetsConfig => targets.parseTargets(text, file, INDICATOR_BY_ID);
export const loadTargets = (file: string): targets.TargetsConfig => targets.loadTargets(file, INDICATOR_BY_ID);
/** The defaults of the indicator declarations, min_sample 30, the default SLA thresholds. */
export const DEFAULT_TARGETS: targets.TargetsConfig = parseTargets('{}', '(defaults)');
/** The target and warn level in force for `period`: the latest entry whose `from` <= period, else the default. */
export const targetFor = (cfg: targets.TargetsConfig, id: string, period: string) => targets.targetFor(cfg, id, period, INDICATOR_BY_ID);

export const parseReports = (text: string, file: string): reports.ReportsFile => reports.parseReports(text, file, INDICATOR_IDS);
export const loadReports = (file: string): reports.ReportsFile => reports.loadReports(file, INDICATOR_IDS);
