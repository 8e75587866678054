import { describe, expect, it } from 'vitest';
import { reportTitle } from '../../functions/pipeline/reportsConfig.js';
import { parseReports } from '../../functions/metrics/config.js';

const yaml = (extra: string) => `reports:\n  - id: r1\n    title: Monthly review\n    timezone: UTC\n${extra}`;

describe('report definitions', () => {
  it('uses the title in the rendering locale when the definition gives one, else the title as written', () => {
    const [r] = parseReports(yaml('    titles: { ru: Ежемесячный обзор }\n'), 'reports.yaml').reports;
    expect(reportTitle(r!, 'ru')).toBe('Ежемесячный обзор');
    expect(reportTitle(r!, 'zh-CN')).toBe('Monthly review');
    expect(reportTitle(r!, 'en')).toBe('Monthly review');
  });

  it('names each problem with its path', () => {
    const text = 'reports:\n  - id: r1\n    title: Monthly review\n    titles: { fr: Revue }\n    locale: de\n    timezone: Mars/Olympus\n';
    expect(() => parseReports(text, 'reports.yaml')).toThrow(
      /^reports\.yaml: 3 problems:[\s\S]*reports\.0\.titles[\s\S]*reports\.0\.locale[\s\S]*reports\.0\.timezone: unknown IANA time zone/,
    );
    expect(() => parseReports(yaml('    titles: { fr: Revue }\n'), 'reports.yaml')).toThrow(/reports\.0\.titles/);
  });
});
