/**
 * The Athena workgroup the report queries run in: engine version 3, its settings enforced over
 * any client's, results encrypted in the (expiring) results bucket, and a per-query scan cutoff
 * so a runaway query costs at most that much.
 */
import { Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface QueryWorkgroupProps {
  name: string;
  resultsBucket: s3.IBucket;
  resultsPrefix: string;
  bytesScannedCutoffPerQuery: number;
}

export class QueryWorkgroup extends Construct {
  readonly name: string;
  readonly arn: string;
  readonly resultsPrefix: string;

  constructor(scope: Construct, id: string, props: QueryWorkgroupProps) {
    super(scope, id);
    this.name = props.name;
    this.resultsPrefix = props.resultsPrefix;
    new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.name,
      description: 'Monthly customer-service report queries',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        publishCloudWatchMetricsEnabled: true,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: `s3://${props.resultsBucket.bucketName}/${props.resultsPrefix}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Stack.of(this).account,
        },
      },
    });
    this.arn = Stack.of(this).formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.name });
  }
}
