/**
 * The Glue database and one table per canonical table over the curated Parquet layout:
 * every contract column as string (parsing and validation happen in the SQL, as locally), the
 * export date `dt` as a partition found by partition projection (no crawler, no MSCK REPAIR).
 */
import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PARTITION_COLUMN, catalogColumns, catalogDescription } from '../../functions/engine/canonicalTables.js';
import { TABLES, type TableName } from '../../functions/pipeline/contract.js';

export interface DataCatalogProps {
  databaseName: string;
  bucket: s3.IBucket;
  curatedPrefix: string;
  /** First dt of the projected range (YYYY-MM-DD); the range ends at NOW. */
  since: string;
}

export class DataCatalog extends Construct {
  readonly databaseName: string;
  readonly tables: Record<TableName, glue.CfnTable>;
  readonly catalogArn: string;
  readonly databaseArn: string;
  readonly tableArns: string[];

  constructor(scope: Construct, id: string, props: DataCatalogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.databaseName = props.databaseName;
    const db = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: props.databaseName, description: 'Canonical CRM export tables (data contract v1), all columns as text' },
    });
    this.catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
    this.databaseArn = stack.formatArn({ service: 'glue', resource: 'database', resourceName: props.databaseName });

    const tables = {} as Record<TableName, glue.CfnTable>;
    for (const table of TABLES) {
      const location = `s3://${props.bucket.bucketName}/${props.curatedPrefix}/${table}/`;
      const t = new glue.CfnTable(this, `Table-${table}`, {
        catalogId: stack.account,
        databaseName: props.databaseName,
        tableInput: {
          name: table,
          description: catalogDescription(table),
          tableType: 'EXTERNAL_TABLE',
          parameters: {
            classification: 'parquet',
            EXTERNAL: 'TRUE',
            'projection.enabled': 'true',
            'projection.dt.type': 'date',
            'projection.dt.format': 'yyyy-MM-dd',
            'projection.dt.range': `${props.since},NOW`,
            'projection.dt.interval': '1',
            'projection.dt.interval.unit': 'DAYS',
            'storage.location.template': `${location}dt=\${dt}/`,
          },
          partitionKeys: [PARTITION_COLUMN],
          storageDescriptor: {
            location,
            columns: catalogColumns(table),
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          },
        },
      });
      t.addResourceDependency(db);
      tables[table] = t;
    }
    this.tables = tables;
    this.tableArns = TABLES.map((t) => stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${props.databaseName}/${t}` }));
  }
}
