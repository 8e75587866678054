/**
 * customers: the base built in Context (a legacy base created before the history starts, imported
 * with bare dates, then new customers month by month), with churn. Exported by a Windows tool:
 * UTF-8 with a byte order mark and CRLF line ends.
 */
import { CONTRACT } from '../pipeline/contract.js';
import { REGIONS, SEGMENTS } from './company.js';
import { type Context, STREAM } from './context.js';
import { Rng } from './rng.js';
import { type TableGen, blank, columnIndex, lastUpdate } from './table.js';
import { customerId } from './tickets.js';
import { Style } from './time.js';

const C = columnIndex('customers');

export function customersTable(ctx: Context): TableGen {
  const n = ctx.custCreated.length;
  return {
    def: CONTRACT.customers,
    records: n,
    forEach(emit) {
      const rng = new Rng();
      for (let i = 0; i < n; i++) {
        rng.reseed(ctx.seed, STREAM.customers + 100, i);
        const created = ctx.custCreated[i]!;
        const churned = ctx.custChurned[i]!;
        const v = blank('customers');
        v[C.customer_id!] = customerId(i);
        v[C.segment!] = rng.chance(0.02) ? null : SEGMENTS[ctx.custSegment[i]!]!;
        v[C.region!] = rng.chance(0.03) ? null : REGIONS[ctx.custRegion[i]!]!;
        v[C.created_at!] = created;
        v[C.churned_at!] = Number.isNaN(churned) ? null : churned;
        v[C.updated_at!] = lastUpdate(rng, Number.isNaN(churned) ? created : churned, ctx.horizon);
        emit({ v, style: i < ctx.legacyCustomers ? Style.Date : Style.Z });
      }
    },
    fixedStyle: { churned_at: Style.Date },
    writer: { bom: true, eol: '\r\n' },
  };
}
