/** Lambda entry of the ingest function (see ../ingest.ts), invoked by S3 event notifications. */
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { loadMapping } from '../../engine/mappings.js';
import { createIngestHandler } from '../ingest.js';
import { createLogger, requireEnv } from '../runtime.js';

const env = requireEnv(['CONFIG_DIR', 'EXPORTS_BUCKET', 'RAW_PREFIX', 'CURATED_PREFIX', 'UNDATED_PARTITION']);
const logger = createLogger('ingest');

export const handler = createIngestHandler({
  s3: new S3Client({}),
  bucket: env.EXPORTS_BUCKET,
  layout: { rawPrefix: env.RAW_PREFIX, curatedPrefix: env.CURATED_PREFIX, undatedPartition: env.UNDATED_PARTITION },
  mapping: process.env.MAPPING_FILE ? loadMapping(join(env.CONFIG_DIR, process.env.MAPPING_FILE)) : undefined,
  // Leave room for Node and the S3 buffers beside DuckDB.
  memoryLimit: `${Math.max(256, Math.floor(Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 2048) * 0.6))}MB`,
  logger,
});
