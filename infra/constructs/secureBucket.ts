/**
 * Secure defaults for every bucket the stack creates, in one place: public access blocked, TLS
 * enforced by bucket policy, S3-managed encryption, object ownership enforced (no ACLs), access
 * logs to the stack's log bucket, retained on stack deletion. Callers add lifecycle and
 * versioning; they cannot turn the defaults off.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SecureBucketProps {
  versioned?: boolean;
  lifecycleRules?: s3.LifecycleRule[];
  /** Server access logs go here (required except for the log bucket itself). */
  accessLogs?: { bucket: s3.IBucket; prefix: string };
}

export const SECURE_BUCKET_DEFAULTS = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  removalPolicy: RemovalPolicy.RETAIN,
} as const;

export class SecureBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id, {
      ...SECURE_BUCKET_DEFAULTS,
      versioned: props.versioned ?? false,
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }, ...(props.lifecycleRules ?? [])],
      serverAccessLogsBucket: props.accessLogs?.bucket,
      serverAccessLogsPrefix: props.accessLogs?.prefix,
    });
  }
}
