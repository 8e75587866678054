/** The user-facing docs match the code they describe. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
  const doc = readFileSync('docs/indicators.md', 'utf8');
  const rows = new Map(
    doc
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => {
        const c = l.split('|').map((x) => x.trim());
        return [c[1]!.replace(/`/g, ''), { better: c[4], unit: c[5], targets: c[6], by: c[7] }] as const;
      }),
  );

  it('lists every declared indicator once, and nothing else', () => {
    expect([...rows.keys()].sort()).toEqual(INDICATORS.map((d) => d.id).sort());
  });

  it.each(INDICATORS.map((d) => [d.id, d] as const))('%s: direction, unit, default target / warning and breakdowns as declared', (id, d) => {
    const row = rows.get(id)!;
    const targets = d.target === null ? 'none' : `${d.target} / ${d.warn}`;

    expect(row).toEqual({ better: d.direction, unit: d.unit, targets, by: d.breakdowns.join(', ') });
  });
});
