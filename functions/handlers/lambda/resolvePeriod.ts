/** Lambda entry of the first state (see ../resolvePeriod.ts). Config is read once, at cold start. */
import { createResolvePeriodHandler } from '../resolvePeriod.js';
import { createLogger, loadReportsFrom, requireEnv } from '../runtime.js';

const env = requireEnv(['CONFIG_DIR']);
const logger = createLogger('resolve-period');
const resolve = createResolvePeriodHandler({ reports: loadReportsFrom(env.CONFIG_DIR) });

export const handler = async (event: unknown) => {
  const out = await resolve(event);
  logger.info('period resolved', { reportId: out.reportId, period: out.period, runId: out.runId, force: out.force });
  return out;
};
