import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateAll } from '../../functions/cli/validate.js';
import { copyTemplates } from '../support/templatesCopy.js';

const root = mkdtempSync(join(tmpdir(), 'validate-'));
const broken = copyTemplates();
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  broken.cleanup();
});

writeFileSync(join(broken.dir, 'partials', 'cover.hbs'), '<p>{{money 1}}</p>\n{{> nowhere}}\n');
mkdirSync(join(broken.dir, 'locales'));
writeFileSync(join(broken.dir, 'locales', 'ru.json'), JSON.stringify({ status: { met: 'Да', mett: 'опечатка' } }));
writeFileSync(
  join(root, 'reports.yaml'),
  `reports:
  - id: good
    title: Good
    timezone: UTC
  - id: Bad_Id
    title: Bad
    timezone: Mars/Olympus
    indicators: [csat_pct, csat_percent]
    template: ${broken.dir}
`,
);
writeFileSync(join(root, 'targets.yaml'), 'targets:\n  csat_pct: { target: 85, warn: 90 }\n  no_such: { target: 1 }\n');
mkdirSync(join(root, 'mappings'));
writeFileSync(join(root, 'mappings', 'bad.yaml'), 'sources: {}\ntables: {}\n');
writeFileSync(join(root, 'mappings', 'two.yaml'), 'sources:\n  calls: calls.csv\ntables:\n  tickets: |\n    SELECT * FROM calls;\n    SELECT 2\n');
const opts = { reports: join(root, 'reports.yaml'), targets: join(root, 'targets.yaml'), mappings: join(root, 'mappings') };

describe('npm run validate', () => {
  it('lists every problem of reports, targets, mappings and templates together', async () => {
    const { problems } = await validateAll(opts);
    const expected = [
      /reports\.yaml: reports\.1\.id: lowercase letters/,
      /reports\.yaml: reports\.1\.timezone: unknown IANA time zone/,
      /reports\.yaml: reports\.1\.indicators\.1: unknown indicator id/,
      /targets\.yaml: targets\.csat_pct\.warn: warn \(90\) must be <= target \(85\)/,
      /targets\.yaml: targets\.no_such: unknown indicator id/,
      /bad\.yaml: tables: maps no table/,
      /two\.yaml: tables\.tickets: 2 statements: a mapping table is exactly one read-only SELECT/,
    ];
    for (const re of expected) expect(problems.some((p) => re.test(p)), `${re} in\n${problems.join('\n')}`).toBe(true);
  });

  it('checks the templates folder each report uses, naming file and line', async () => {
    const good = join(root, 'reports-good.yaml');
    writeFileSync(good, `reports:\n  - id: custom\n    title: Custom\n    timezone: UTC\n    template: ${broken.dir}\n`);
    const { problems } = await validateAll({ ...opts, reports: good });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/partials\/cover\.hbs:1: unknown helper "money"$/),
        expect.stringMatching(/partials\/cover\.hbs:2: unknown partial "nowhere"$/),
        expect.stringMatching(/locales\/ru\.json: unknown message key "status\.mett"$/),
      ]),
    );
  });

  it('renders the templates in strict mode: a misspelt field or message key fails with file and line', async () => {
    const typo = copyTemplates();
    try {
      const cover = join(typo.dir, 'partials', 'cover.hbs');
      writeFileSync(cover, `<p>{{period.lable}}</p>\n<p>{{t "labels.periodd"}}</p>\n{{#if noSuchFlag}}{{/if}}\n${readFileSync(cover, 'utf8')}`);
      const reports = join(root, 'reports-typo.yaml');
      writeFileSync(reports, `reports:\n  - id: custom\n    title: Custom\n    timezone: UTC\n    template: ${typo.dir}\n`);

      const { problems } = await validateAll({ ...opts, reports });

      const ofCover = problems.filter((p) => p.includes('cover.hbs'));
      expect(ofCover).toEqual([
        expect.stringMatching(/partials\/cover\.hbs:2: unknown message key "labels\.periodd" \(not in locales\/en\.json, locales\/zh-CN\.json, locales\/ru\.json\)$/),
        expect.stringMatching(/partials\/cover\.hbs:1: unknown field "period\.lable" \(not in the report model\)$/),
      ]);
    } finally {
      typo.cleanup();
    }
  });

  it('npm run report stops at a template problem before reading any data', () => {
    const typo = copyTemplates();
    try {
      const cover = join(typo.dir, 'partials', 'cover.hbs');
      writeFileSync(cover, `<p>{{period.lable}}</p>\n${readFileSync(cover, 'utf8')}`);
      const out = join(root, 'report-out');

      // A data folder that does not exist: reading it would fail with another message.
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/report.ts', '--templates', typo.dir, '--data', join(root, 'no-such-data'), '--out', out], { encoding: 'utf8' });

      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/partials\/cover\.hbs:1: unknown field "period\.lable"/);
      expect(run.stderr).not.toMatch(/no-such-data/);
      expect(existsSync(out)).toBe(false);
    } finally {
      typo.cleanup();
    }
  });

  it('exits non-zero with the problems on stderr, zero on the repository config', () => {
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/validate.ts', '--reports', opts.reports, '--targets', opts.targets, '--mappings', opts.mappings], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^\d+ problems:/);
    expect(bad.stderr).toMatch(/unknown helper "money"/);
    const ok = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/validate.ts'], { encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
  });
});
