/**
 * cdk-nag AwsSolutions findings we accept, each with its reason, acknowledged on the narrowest
 * construct (CDK's Validations API, cdk-nag v3). Everything else fails `cdk synth` and the infra
 * tests. Findings are named exactly (`AwsSolutions-IAM5[Resource::...]`), so a new wildcard
 * anywhere is a new, unacknowledged finding.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';

/** The IAM5 finding id cdk-nag reports for a resource ARN (tokens flattened as nag does). */
export function iam5ResourceFinding(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}

/** Object ARNs of one key prefix (`bucket/prefix/*`): the * is how S3 names a prefix's objects. */
export function acknowledgePrefixObjects(role: iam.IRole, objectArns: string[]): void {
  for (const arn of objectArns) {
    Validations.of(role).acknowledge({
      id: iam5ResourceFinding(role, arn),
      reason: 'Objects under one key prefix of one bucket; a prefix can only be named with a trailing *. No bucket-wide or account-wide S3 grant exists.',
    });
  }
}

export function acknowledgeWorkflow(stateMachineRole: iam.IRole, functions: lambda.IFunction[]): void {
  for (const fn of functions) {
    Validations.of(stateMachineRole).acknowledge({
      id: iam5ResourceFinding(stateMachineRole, `${fn.functionArn}:*`),
      reason: 'CDK grants lambda:InvokeFunction on the function and its versions/aliases (<arn>:*); still one named function.',
    });
  }
  Validations.of(stateMachineRole).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'X-Ray tracing of the state machine: xray:PutTraceSegments/PutTelemetryRecords/GetSampling* support no resource-level permissions.',
  });
}

export function acknowledgeScheduleDlq(queue: sqs.IQueue): void {
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the report schedules; an alarm watches it.',
  });
}

export function acknowledgeIngestFailureQueue(queue: sqs.IQueue): void {
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: "This queue is itself the ingest function's on-failure destination (a dead-letter queue for failed S3 events); an alarm watches it.",
  });
}

/** The S3 notification custom resource CDK adds (a singleton Lambda at the stack root). */
export function acknowledgeBucketNotificationsHandler(stack: Stack): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (!handler) return;
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: "CDK's built-in custom resource that configures the bucket notification at deploy time; its role is created by CDK and only writes its own logs besides s3:PutBucketNotification.",
  });
}
