/** The user-facing docs match the code they describe. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INDICATORS_DOC, currentIndicatorsDoc } from '../../functions/cli/docs.js';
import { INDICATORS } from '../../functions/metrics/indicators.js';
import { CONTRACT, TABLES } from '../../functions/pipeline/contract.js';

describe('docs/data-contract.md', () => {
  const doc = readFileSync('docs/data-contract.md', 'utf8');

  it.each(TABLES)('%s: the columns listed are exactly the contract\'s (updated_at on every table), key and required marks included', (table) => {
    const section = doc.split(/^### /m).find((s) => s.startsWith(`${table} (key \`${CONTRACT[table].key}\`)`));
    expect(section, `a section "### ${table} (key ...)"`).toBeDefined();
    const rows = section!
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| column') && !l.startsWith('|---'))
      .map((l) => l.split('|').map((c) => c.trim()));
    const listed = rows.flatMap(([, names, type, req]) => names!.split(', ').map((name) => ({ name, type, required: req === 'R' })));

    const expected = CONTRACT[table].columns
      .filter((c) => c.name !== 'updated_at')
      .map((c) => ({ name: c.name, type: c.type, required: Boolean(c.required) }));

    expect(listed.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
  });
});

describe('docs/indicators.md', () => {
  it('its catalog is current with the declarations and their words (npm run docs)', () => {
    expect(readFileSync(INDICATORS_DOC, 'utf8')).toBe(currentIndicatorsDoc());
  });

  it('lists every declared indicator once, with its direction, unit, default target / warning and breakdowns', () => {
    const rows = readFileSync(INDICATORS_DOC, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split('|').map((x) => x.trim()));

    // Written out by hand for the two indicators of version 2; the others follow the same columns.
    expect(rows.map((c) => c[1]!.replace(/`/g, '')).sort()).toEqual(INDICATORS.map((d) => d.id).sort());
    expect(rows.find((c) => c[1] === '`answer_speed_avg_s`')!.slice(5, 9)).toEqual(['lower', 's', '30 / 60', 'team, channel']);
    expect(rows.find((c) => c[1] === '`abandon_rate_pct`')!.slice(5, 9)).toEqual(['lower', '%', '5 / 8', 'team, channel']);
    expect(rows.find((c) => c[1] === '`repeat_purchase_rate_pct`')!.slice(5, 9)).toEqual(['higher', '%', '30 / 20', '']);
  });
});
