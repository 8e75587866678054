/**
 * An indicator is declared once, typed: a misspelt measure, anchor or column fails the type check.
 * test/types/misspelt.fixture.ts (outside the project's own type check) holds one of each; the
 * TypeScript compiler must report each marked line, and nothing else.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const FIXTURE = 'test/types/misspelt.fixture.ts';

it('the type checker catches a misspelt measure, anchor and column, each on its own line', () => {
  const marked = readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.includes('// ERROR:') ? [i + 1] : []));

  const r = spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '--ignoreConfig', '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', FIXTURE],
    { encoding: 'utf8' },
  );

  const errorLines = [...r.stdout.matchAll(/misspelt\.fixture\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1]));
  expect(marked).toHaveLength(3);
  expect(errorLines).toEqual(marked);
  expect(r.stdout).toMatch(/'reopend' does not exist/);
  expect(r.stdout).toMatch(/"resolvd"/);
  expect(r.stdout).toMatch(/"tickets\.reopen_count"/);
});
