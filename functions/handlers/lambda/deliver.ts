/** Lambda entry of the archive-and-deliver state (see ../deliver.ts). */
import { S3Client } from '@aws-sdk/client-s3';
import { SesTransport, sesSendClient } from '../../deliver/transport.js';
import { createDeliverHandler } from '../deliver.js';
import { createLogger, loadReportsFrom, optionalInt, requireEnv } from '../runtime.js';
import { MAIL_LIMITS } from '../../deliver/compose.js';

const env = requireEnv(['CONFIG_DIR', 'ARCHIVE_BUCKET', 'SENDER']);
const logger = createLogger('deliver');

export const handler = createDeliverHandler({
  s3: new S3Client({}),
  // SDK retries off (maxAttempts 1): delivery.json decides whether a send may be repeated.
  transport: new SesTransport(sesSendClient(), { configurationSetName: process.env.SES_CONFIGURATION_SET || undefined }),
  reports: loadReportsFrom(env.CONFIG_DIR),
  archiveBucket: env.ARCHIVE_BUCKET,
  sender: env.SENDER,
  attachLimitBytes: optionalInt('ATTACH_LIMIT_BYTES', MAIL_LIMITS.attachLimitBytes),
  linkExpiresSeconds: optionalInt('LINK_EXPIRES_SECONDS', MAIL_LIMITS.linkExpiresSeconds),
  logger,
});
