/**
 * The data contract (version 2) as data: the seven canonical tables, their columns, types,
 * required flags, ranges and time-order rules. The reader, the validation SQL, the sample
 * generator, the AWS ingest and the metastore tables all read this one description.
 */

export const TABLES = ['tickets', 'surveys', 'orders', 'complaints', 'invoices', 'customers', 'contacts'] as const;
export type TableName = (typeof TABLES)[number];

/** Columns a table can be broken down by (a null or empty value is the segment `unassigned`). */
export type SegmentKind = 'team' | 'channel';
export const SEGMENT_KINDS: readonly SegmentKind[] = ['team', 'channel'];

/**
 * Why a row takes part in no indicator, in the order the contract applies them (the first that
 * applies is counted): missing_key and bad_updated_at count rows that never became records.
 */
export const REJECT_REASONS = ['missing_key', 'bad_updated_at', 'bad_value', 'missing_required', 'out_of_range', 'inconsistent_times'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** The SERVQUAL dimensions of surveys.dimension. */
export const SERVQUAL_DIMENSIONS = ['reliability', 'responsiveness', 'assurance', 'empathy', 'tangibles'] as const;

export type ColumnType = 'string' | 'timestamp' | 'int' | 'decimal' | 'bool';

export interface ColumnDef<N extends string = string> {
  name: N;
  type: ColumnType;
  required?: boolean;
  /** Inclusive lower bound for int columns (out_of_range below it). */
  min?: number;
}

export interface TableDef {
  name: TableName;
  key: string;
  columns: ColumnDef[];
  /** [later, earlier]: `later >= earlier` must hold when both are set (inconsistent_times). */
  order: [string, string][];
}

const s = <N extends string>(name: N, required = false): ColumnDef<N> => ({ name, type: 'string', required });
const ts = <N extends string>(name: N, required = false): ColumnDef<N> => ({ name, type: 'timestamp', required });
const int = <N extends string>(name: N, min?: number): ColumnDef<N> => ({ name, type: 'int', min });
const bool = <N extends string>(name: N): ColumnDef<N> => ({ name, type: 'bool' });
const dec = <N extends string>(name: N): ColumnDef<N> => ({ name, type: 'decimal' });
const updatedAt = ts('updated_at', true);

const TABLE_DEFS = {
  tickets: {
    name: 'tickets',
    key: 'ticket_id',
    columns: [
      s('ticket_id', true),
      s('customer_id'),
      ts('created_at', true),
      ts('first_response_at'),
      ts('resolved_at'),
      s('status'),
      s('channel'),
      s('team'),
      s('agent_id'),
      s('priority'),
      int('contacts_count', 0),
      int('reopened_count', 0),
      bool('has_error'),
      updatedAt,
    ],
    order: [
      ['first_response_at', 'created_at'],
      ['resolved_at', 'created_at'],
    ],
  },
  surveys: {
    name: 'surveys',
    key: 'response_id',
    columns: [
      s('response_id', true),
      s('survey_type', true),
      s('ticket_id'),
      s('customer_id'),
      s('channel'),
      s('team'),
      s('dimension'),
      int('expectation'),
      int('score'),
      ts('sent_at', true),
      ts('responded_at'),
      updatedAt,
    ],
    order: [['responded_at', 'sent_at']],
  },
  orders: {
    name: 'orders',
    key: 'order_id',
    columns: [
      s('order_id', true),
      s('customer_id'),
      s('channel'),
      ts('ordered_at', true),
      ts('promised_at'),
      ts('delivered_at'),
      int('quantity_ordered', 1),
      int('quantity_delivered', 0),
      bool('is_accurate'),
      bool('change_requested'),
      bool('change_accommodated'),
      ts('returned_at'),
      dec('amount'),
      updatedAt,
    ],
    order: [
      ['delivered_at', 'ordered_at'],
      ['returned_at', 'delivered_at'],
    ],
  },
  complaints: {
    name: 'complaints',
    key: 'complaint_id',
    columns: [
      s('complaint_id', true),
      s('customer_id'),
      s('order_id'),
      s('ticket_id'),
      s('channel'),
      s('category'),
      ts('opened_at', true),
      ts('resolved_at'),
      updatedAt,
    ],
    order: [['resolved_at', 'opened_at']],
  },
  invoices: {
    name: 'invoices',
    key: 'invoice_id',
    columns: [
      s('invoice_id', true),
      s('order_id'),
      s('customer_id'),
      ts('due_at'),
      ts('issued_at'),
      bool('is_accurate'),
      dec('amount'),
      updatedAt,
    ],
    order: [],
  },
  customers: {
    name: 'customers',
    key: 'customer_id',
    columns: [s('customer_id', true), s('segment'), s('region'), ts('created_at', true), ts('churned_at'), updatedAt],
    order: [['churned_at', 'created_at']],
  },
  contacts: {
    name: 'contacts',
    key: 'contact_id',
    columns: [
      s('contact_id', true),
      s('customer_id'),
      s('ticket_id'),
      s('channel'),
      s('team'),
      s('agent_id'),
      ts('queued_at', true),
      ts('answered_at'),
      ts('ended_at'),
      updatedAt,
    ],
    order: [
      ['answered_at', 'queued_at'],
      ['ended_at', 'queued_at'],
      ['ended_at', 'answered_at'],
    ],
  },
} satisfies Record<TableName, TableDef>;

export const CONTRACT: Record<TableName, TableDef> = TABLE_DEFS;

/** The column names of a table, as a type. */
export type ColumnOf<T extends TableName> = (typeof TABLE_DEFS)[T]['columns'][number]['name'];

/** Survey score scales by survey_type (out_of_range outside them). */
export const SURVEY_SCALES = { csat: [1, 5], nps: [0, 10], servqual: [1, 7] } as const;
export const EXPECTATION_SCALE = [1, 7] as const;
