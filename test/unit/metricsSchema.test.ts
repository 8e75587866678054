/** metrics.json as a schema: what is accepted, and a broken file named with its field. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MetricsJsonError, parseMetricsJson, parseMetricsJsonText } from '../../functions/metrics/schema.js';

const SAMPLE = 'templates/sample.metrics.json';

describe('metrics.json schema', () => {
  it('accepts the sample metrics.json', () => {
    const text = readFileSync(SAMPLE, 'utf8');

    const m = parseMetricsJsonText(text, SAMPLE);

    expect(Object.keys(m.indicators)).toHaveLength(32);
  });

  it.each([
    ['a trend of 11 points', (m: any) => m.indicators.csat_pct.trend.pop(), /indicators\.csat_pct\.trend/],
    ['a status outside the list', (m: any) => (m.indicators.nps.status = 'green'), /indicators\.nps\.status/],
    ['a segment entry without yearAgo', (m: any) => delete Object.values(m.segments.team as Record<string, any>)[0][Object.keys(Object.values(m.segments.team as Record<string, any>)[0])[0]!].yearAgo, /segments\.team\..*\.yearAgo/],
    ['a table missing from dataQuality', (m: any) => delete m.dataQuality.contacts, /dataQuality\.contacts/],
    ['a negative count', (m: any) => (m.dataQuality.tickets.rowsRead = -1), /dataQuality\.tickets\.rowsRead/],
  ])('refuses %s, naming the source and the field', (_what, breakIt, field) => {
    const m = JSON.parse(readFileSync(SAMPLE, 'utf8'));
    breakIt(m);

    const act = () => parseMetricsJson(m, 'out/x.metrics.json');

    expect(act).toThrow(MetricsJsonError);
    expect(act).toThrow(/^out\/x\.metrics\.json: not a valid metrics\.json/);
    expect(act).toThrow(field);
  });

  it('refuses text that is not JSON, naming the file', () => {
    expect(() => parseMetricsJsonText('{"schemaVersion": 1,', 'a.json')).toThrow(/^a\.json: not JSON/);
  });
});
