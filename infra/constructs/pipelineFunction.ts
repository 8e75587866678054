/**
 * A pipeline Lambda with explicit settings and one way of building it: NodejsFunction/esbuild
 * as an ES module for Node 22 on x86_64, source maps on, its own log group with a set retention,
 * JSON logs. Native or asset-carrying packages (DuckDB, @sparticuz/chromium, fonts) are not
 * bundled but shipped beside the bundle in node_modules (shippedModules.ts), and folders the
 * function reads at run time (config/, templates/) are copied in.
 */
import { basename, join } from 'node:path';
import { Duration, Size, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { copyModulesCommands, dependencyClosure } from './shippedModules.js';

export interface PipelineFunctionProps {
  rootDir: string;
  /** Entry file relative to rootDir. */
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  logRetention: logs.RetentionDays;
  environment?: Record<string, string>;
  /** Packages shipped in the function's node_modules (with their dependencies) instead of bundled. */
  nodeModules?: string[];
  /** Project folders copied next to the bundle (read at run time). */
  copyDirs?: string[];
  ephemeralStorageMiB?: number;
  /** Shell commands run last in the bundle folder (`$OUT`), e.g. to drop unused files. */
  pruneCommands?: string[];
  reservedConcurrentExecutions?: number;
}

/** ESM output still meets CommonJS dependencies that call require(): give them one. */
const REQUIRE_SHIM = "import { createRequire as __pipelineCreateRequire } from 'node:module'; const require = __pipelineCreateRequire(import.meta.url);";

export class PipelineFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    // Its own role: writing to its own log group, plus what the stack grants by name.
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.description });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));
    const copyDirs = props.copyDirs ?? [];
    const name = basename(props.entry).replace(/\.ts$/, '');
    const shipped = props.nodeModules?.length ? dependencyClosure(props.rootDir, props.nodeModules) : [];
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(props.rootDir, props.entry),
      // The bundle is moved two folders deep (see afterBundling), as deep as the modules it was
      // built from, so paths they resolve from import.meta.url (e.g. ../../templates/) still hold.
      handler: `functions/lambda/${name}.handler`,
      projectRoot: props.rootDir,
      depsLockFilePath: join(props.rootDir, 'package-lock.json'),
      role: this.role,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.X86_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      ephemeralStorageSize: props.ephemeralStorageMiB ? Size.mebibytes(props.ephemeralStorageMiB) : undefined,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        CONFIG_DIR: '/var/task/config',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: REQUIRE_SHIM,
        minify: true,
        sourceMap: true,
        // The SDK version we tested with, not whichever the runtime happens to carry.
        bundleAwsSDK: true,
        // Shipped, not bundled (see shippedModules.ts); '@aws-sdk/*' stays bundled (bundleAwsSDK).
        externalModules: shipped,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            `mkdir -p "${outputDir}/functions/lambda"`,
            `mv "${outputDir}/index.mjs" "${outputDir}/functions/lambda/${name}.mjs"`,
            `mv "${outputDir}/index.mjs.map" "${outputDir}/functions/lambda/index.mjs.map"`,
            ...copyDirs.map((d) => `cp -R "${inputDir}/${d}" "${outputDir}/${d}"`),
            ...copyModulesCommands(inputDir, outputDir, shipped),
            ...(props.pruneCommands ?? []).map((c) => `OUT="${outputDir}" && ${c}`),
          ],
        },
      },
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to nodejs22.x, the Lambda runtime nearest the Node version the project is developed and tested on, and the one the DuckDB binding and @sparticuz/chromium are exercised with in CI; upgrade together with the project.',
    });
  }
}
