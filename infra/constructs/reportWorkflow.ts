/**
 * The report state machine: resolve period -> query (Athena) and data gate [held: wait and query
 * again until the deadline, then one ops notice with the reasons, nothing rendered or sent] ->
 * [ops warning when raw exports of the data failed to import] -> render -> [burst: ops warning when
 * recipients do not match the data; each team's or channel's report rendered and delivered, a Map]
 * -> archive and deliver.
 * Each state has its own retry policy for the errors a retry can cure, with exponential backoff;
 * any error that is left ends in one SNS notice to ops and a failed execution. Mail is sent only
 * by the last state, which runs only after a complete report exists.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

export interface ReportWorkflowProps {
  resolvePeriod: lambda.IFunction;
  query: lambda.IFunction;
  render: lambda.IFunction;
  deliver: lambda.IFunction;
  opsTopic: sns.ITopic;
  logRetention: logs.RetentionDays;
  /** The longest data-gate deadline of the reports (`gate.deadlineHours`): the machine may wait that long for data. */
  holdDeadline?: Duration;
}

/** Lambda's own transient failures (throttling, service errors), worth retrying in every state. */
const LAMBDA_TRANSIENT = ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'];

export class ReportWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ReportWorkflowProps) {
    super(scope, id);

    /** One notice to the ops topic (retried: a notice that cannot be published is the only one ops would get). */
    const opsNotice = (id: string, subject: string, message: Record<string, unknown>) => {
      const publish = new tasks.SnsPublish(this, id, { topic: props.opsTopic, subject, message: sfn.TaskInput.fromObject(message), resultPath: sfn.JsonPath.DISCARD });
      publish.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
      return publish;
    };

    const notifyOps = opsNotice('NotifyOps', 'Customer-service report run failed', {
      execution: sfn.JsonPath.executionName,
      executionArn: sfn.JsonPath.stringAt('$$.Execution.Id'),
      input: sfn.JsonPath.objectAt('$$.Execution.Input'),
      error: sfn.JsonPath.stringAt('$.error.Error'),
      cause: sfn.JsonPath.stringAt('$.error.Cause'),
      note: 'No e-mail was sent by this run unless the error is DeliveryInDoubtError (a send may have reached some or all recipients: check before re-running), PartialDeliveryError (sent, but refused for the recipients its cause names; a re-run sends only to them), or Runtime.ExitError or Sandbox.Timedout of the deliver step (it died or timed out, possibly after the mail left: a re-run stops as DeliveryInDoubtError; check the recipients, then re-run with force if they did not get it).',
    });
    const failed = new sfn.Fail(this, 'ReportFailed', { error: 'ReportFailed', cause: 'The run failed; ops were notified.' });
    const onError = notifyOps.next(failed);

    const step = (name: string, fn: lambda.IFunction, retries: sfn.RetryProps[], payload?: sfn.TaskInput, catchTo: sfn.IChainable = onError) => {
      const task = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payload,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
      });
      task.addRetry({ errors: LAMBDA_TRANSIENT, interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
      for (const r of retries) task.addRetry(r);
      task.addCatch(catchTo, { errors: ['States.ALL'], resultPath: '$.error' });
      return task;
    };

    const resolvePeriod = step('ResolvePeriod', props.resolvePeriod, [], sfn.TaskInput.fromObject({ start: sfn.JsonPath.objectAt('$'), runId: sfn.JsonPath.executionName }));
    const query = step('QueryMetrics', props.query, [
      // Athena answers FAILED for its own internal errors too; one late second try, then ops.
      { errors: ['EngineError'], interval: Duration.seconds(60), maxAttempts: 1, backoffRate: 2 },
      { errors: ['Sandbox.Timedout'], interval: Duration.seconds(30), maxAttempts: 1 },
    ]);
    const renderRetries: sfn.RetryProps[] = [
      { errors: ['RenderTimeoutError', 'BrowserLaunchError', 'Sandbox.Timedout'], interval: Duration.seconds(10), maxAttempts: 2, backoffRate: 3 },
    ];
    const deliverRetries: sfn.RetryProps[] = [
      // The mail server refused (nothing sent) or S3 failed: safe to try again. Never retried:
      // ReportIncompleteError (nothing to send) and DeliveryInDoubtError (a person decides).
      { errors: ['DeliverySendError', 'ArchiveError'], interval: Duration.seconds(30), maxAttempts: 3, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL },
    ];
    const render = step('RenderReport', props.render, renderRetries);
    const deliver = step('ArchiveAndDeliver', props.deliver, deliverRetries);

    // Burst reports (config/reports.yaml `burst`, functions/render/burst.ts): the company render
    // lists one step event per team or channel; each is rendered from the run's metrics.json and
    // delivered on its own (its own delivery record), before the company report is delivered. A
    // burst that fails is one ops notice naming it; the other bursts and the company report go on,
    // and a re-run of the period sends only the reports not yet delivered.
    const burstFailed = new sfn.Pass(this, 'BurstFailed');
    const notifyBurstFailed = opsNotice('NotifyBurstFailed', 'Customer-service team report failed', {
      execution: sfn.JsonPath.executionName,
      reportId: sfn.JsonPath.stringAt('$.reportId'),
      period: sfn.JsonPath.stringAt('$.period'),
      burst: sfn.JsonPath.objectAt('$.burst'),
      error: sfn.JsonPath.stringAt('$.error.Error'),
      cause: sfn.JsonPath.stringAt('$.error.Cause'),
      note: "Only this team's (or channel's) report failed; the others and the company report went on. No e-mail was sent for it unless the error is DeliveryInDoubtError or PartialDeliveryError, or Runtime.ExitError or Sandbox.Timedout of DeliverBurst (it died or timed out, possibly after the mail left: a re-run stops as DeliveryInDoubtError). Re-run the period: only reports not yet delivered are sent.",
    });
    notifyBurstFailed.addCatch(burstFailed, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    notifyBurstFailed.next(burstFailed);
    const renderBurst = step('RenderBurst', props.render, renderRetries, undefined, notifyBurstFailed);
    const deliverBurst = step('DeliverBurst', props.deliver, deliverRetries, undefined, notifyBurstFailed);
    const bursts = new sfn.Map(this, 'Bursts', { itemsPath: '$.bursts', maxConcurrency: 4, resultPath: sfn.JsonPath.DISCARD });
    bursts.itemProcessor(renderBurst.next(deliverBurst));
    // The Map itself failing (not a burst: those are caught inside) is the run's failure, told to ops.
    bursts.addCatch(onError, { errors: ['States.ALL'], resultPath: '$.error' });
    const burstsListed = new sfn.Choice(this, 'BurstsListed').when(sfn.Condition.isPresent('$.bursts[0]'), bursts).otherwise(deliver);
    bursts.next(deliver);
    // A team or channel of the data nobody owns (its report went to burst.fallback), or an owner
    // whose team has no data: ops are told once per run, and the run goes on.
    const notifyBurstWarnings = opsNotice('NotifyBurstRecipients', 'Team reports: recipients do not match the data', {
      reportId: sfn.JsonPath.stringAt('$.reportId'),
      period: sfn.JsonPath.stringAt('$.period'),
      warnings: sfn.JsonPath.listAt('$.burstWarnings'),
      execution: sfn.JsonPath.executionName,
      note: 'Fix burst.recipients in config/reports.yaml: a team or channel nobody owns got its report through burst.fallback (or nobody, without one); an owner whose team has no data got none.',
    });
    notifyBurstWarnings.addCatch(burstsListed, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    notifyBurstWarnings.next(burstsListed);
    const burstWarnings = new sfn.Choice(this, 'BurstWarningsFound').when(sfn.Condition.isPresent('$.burstWarnings[0]'), notifyBurstWarnings).otherwise(burstsListed);

    render.next(burstWarnings);
    deliver.next(new sfn.Succeed(this, 'Delivered'));

    // Raw exports the ingest could not import leave their rows out of the report: the report says
    // so on its data-quality page, and ops are told once per run (the run itself goes on).
    const notifyIngestFailures = opsNotice('NotifyIngestFailures', 'report produced with failed export files', {
      reportId: sfn.JsonPath.stringAt('$.reportId'),
      period: sfn.JsonPath.stringAt('$.period'),
      ingestFailures: sfn.JsonPath.numberAt('$.ingestFailures'),
      execution: sfn.JsonPath.executionName,
      note: 'Some raw export files could not be imported (see the ingest on-failure queue and the <curated>/<table>/_failed/ markers); their rows are missing from this report. Fix or remove the files, then re-run the report.',
    });
    // A warning that cannot be published does not stop the report (its data-quality page says it too).
    notifyIngestFailures.addCatch(render, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    notifyIngestFailures.next(render);
    const checkIngestFailures = new sfn.Choice(this, 'IngestFailuresFound')
      .when(
        sfn.Condition.and(sfn.Condition.isPresent('$.ingestFailures'), sfn.Condition.isNumeric('$.ingestFailures'), sfn.Condition.numberGreaterThan('$.ingestFailures', 0)),
        notifyIngestFailures,
      )
      .otherwise(render);

    // The data gate (functions/metrics/gate.ts, judged by the query function): held data is
    // checked again after `recheckSeconds` until the report's deadline; then ops hear the reasons
    // once, and the run ends without rendering or sending.
    const notifyHeld = opsNotice('NotifyReportHeld', 'Customer-service report held: data incomplete', {
      reportId: sfn.JsonPath.stringAt('$.reportId'),
      period: sfn.JsonPath.stringAt('$.period'),
      reasons: sfn.JsonPath.listAt('$.gate.reasons'),
      heldSince: sfn.JsonPath.stringAt('$.gate.firstHeldAt'),
      execution: sfn.JsonPath.executionName,
      note: 'The data gate held this report until its deadline (gate.deadlineHours in config/reports.yaml): nothing was rendered or sent. Fix the exports named above, then re-run the period (npm run backfill).',
    });
    const held = new sfn.Fail(this, 'ReportHeld', { error: 'ReportHeld', cause: 'The data gate held the report until its deadline; ops were told the reasons. Nothing was sent.' });
    // Unpublished, the run still fails (the failed-execution alarm reaches ops).
    notifyHeld.addCatch(held, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    notifyHeld.next(held);
    const waitForData = new sfn.Wait(this, 'WaitForData', { time: sfn.WaitTime.secondsPath('$.gate.recheckSeconds') });
    waitForData.next(query);
    const isHeld = sfn.Condition.and(sfn.Condition.isPresent('$.gate.held'), sfn.Condition.booleanEquals('$.gate.held', true));
    const dataGate = new sfn.Choice(this, 'DataGate')
      .when(sfn.Condition.and(isHeld, sfn.Condition.booleanEquals('$.gate.giveUp', true)), notifyHeld)
      .when(isHeld, waitForData)
      .otherwise(checkIngestFailures);

    const definition = resolvePeriod.next(query).next(dataGate);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      // Two hours of work, plus the longest the data gate may wait for data.
      timeout: props.holdDeadline ? Duration.hours(2).plus(props.holdDeadline) : Duration.hours(2),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', { retention: props.logRetention }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
  }
}
