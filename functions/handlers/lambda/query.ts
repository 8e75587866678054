/** Lambda entry of the query state (see ../query.ts). Config and clients are created once, at cold start. */
import { join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { createQueryHandler, mappedTables } from '../query.js';
import { createLogger, loadReportsFrom, requireEnv } from '../runtime.js';
import { loadTargets } from '../../metrics/config.js';

const env = requireEnv(['CONFIG_DIR', 'ATHENA_WORKGROUP', 'GLUE_DATABASE', 'CURATED_BUCKET', 'CURATED_PREFIX', 'ARCHIVE_BUCKET']);
const logger = createLogger('query');

export const handler = createQueryHandler({
  athena: new AthenaClient({}),
  s3: new S3Client({}),
  reports: loadReportsFrom(env.CONFIG_DIR),
  targets: loadTargets(join(env.CONFIG_DIR, 'targets.yaml')),
  workgroup: env.ATHENA_WORKGROUP,
  database: env.GLUE_DATABASE,
  curatedBucket: env.CURATED_BUCKET,
  curatedPrefix: env.CURATED_PREFIX,
  archiveBucket: env.ARCHIVE_BUCKET,
  logger,
  // A source mapping's tables (set by the stack when it has one): the data gate judges only these.
  mappedTables: mappedTables(process.env.MAPPED_TABLES),
});
