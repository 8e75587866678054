/**
 * The two worked foreign exports shipped in examples/ run end to end through their mappings
 * (config/mappings/ru-crm.yaml, zh-crm.yaml) on every engine: Windows-1251 with ";" and Moscow
 * times written dd.MM.yyyy HH:mm, decimal commas and Да/Нет; GB18030 with Shanghai times written
 * yyyy/MM/dd HH:mm and yyyy/M/d H:mm:ss and 是/否. Every expected figure below is worked out by hand
 * from the rows of the export files (listed in the comments).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import { describeEngines } from '../support/engines.js';

/** On Trino each run loads the exports into a schema of its own first: slow on a busy machine. */
const LOAD_TIMEOUT_MS = 180_000;

describeEngines('worked foreign exports (examples/)', (engine) => {
  it('Russian CRM (Windows-1251, ";", dd.MM.yyyy HH:mm in Moscow, decimal commas, Да/Нет): November 2026', async () => {
    const { metrics } = await runMetricsJob({
      data: 'examples/ru-crm',
      mapping: 'config/mappings/ru-crm.yaml',
      period: '2026-11',
      timezone: 'Europe/Moscow',
      out: mkdtempSync(join(tmpdir(), `ru-crm-${engine}-`)),
      engine,
      // One ticket row in seven is a bad value on purpose: more than the data gate lets through.
      allowIncomplete: true,
    });

    const ind = metrics.indicators;
    // Created in November, Moscow time: Т-1001 (02.11 09:15), Т-1002, Т-1003, Т-1004 (30.11 23:30 =
    // 20:30 UTC: read as UTC it would be December in Moscow) and Т-1006 (01.11 00:30 = 31.10 21:30
    // UTC). Т-1005 (31.10 23:30, which read as UTC would be November) is October; Т-1007 (31.11) is not a date.
    expect(ind['ticket_volume']!.value).toBe(5);
    // First responses after 1 h, 2.5 h, 0.5 h, 4 h (30.11 23:30 -> 01.12 03:30) and 6 h: median 2.5 h.
    expect(ind['first_response_median_h']).toMatchObject({ value: 2.5, n: 5 });
    // Ошибка: Да (Т-1002) and ДА (Т-1006) of the five: 40 %.
    expect(ind['service_error_rate_pct']).toMatchObject({ value: 40, n: 5 });
    // Resolved in November: Т-1001 after 3 h, Т-1002 after 20 h, Т-1006 after 8.5 h: mean 10.5 h.
    expect(ind['resolution_avg_h']).toMatchObject({ value: 10.5, n: 3 });
    // Teams keep their Cyrillic names: Поддержка Т-1001, Т-1002 (1 h, 2.5 h); Продажи Т-1003, Т-1004, Т-1006 (0.5, 4, 6 h).
    expect(Object.keys(metrics.segments.team).sort()).toEqual(['Поддержка', 'Продажи']);
    expect(metrics.segments.team['Поддержка']!['ticket_volume']!.value).toBe(2);
    expect(metrics.segments.team['Поддержка']!['first_response_median_h']!.value).toBe(1.75);
    expect(metrics.segments.team['Продажи']!['ticket_volume']!.value).toBe(3);
    expect(metrics.segments.team['Продажи']!['first_response_median_h']!.value).toBe(4);
    expect(Object.keys(metrics.segments.channel).filter((c) => metrics.segments.channel[c]!['ticket_volume']).sort()).toEqual(['Почта', 'Телефон', 'Чат']);
    // Т-1007's creation, 31.11.2026, reaches validation as written and is counted, not lost.
    expect(metrics.dataQuality.tickets).toMatchObject({ rowsRead: 7, rejected: { bad_value: 1 }, recordsUsed: 6 });

    // Orders delivered in November: З-1 (04.11, promised 05.11), З-2 (07.11, promised 06.11: late),
    // З-3 (14.11 17:59, promised 18:00), З-4 (30.11 23:40, promised 23:59): 3 of 4 on time; Точно: Да, Нет, Да, Да.
    expect(ind['on_time_delivery_pct']).toMatchObject({ value: 75, n: 4 });
    expect(ind['order_accuracy_pct']).toMatchObject({ value: 75, n: 4 });
    // The amounts "1 234,50", "990,00", "15 000" (no-break space) and "-12,5" are all valid decimals once converted.
    expect(metrics.dataQuality.orders).toMatchObject({ rowsRead: 4, rejected: {}, recordsUsed: 4 });
    // The newest version is Т-1004's, 01.12.2026 03:30 in Moscow.
    expect(metrics.dataQuality.tickets.newestUpdatedAt).toBe('2026-12-01T00:30:00.000Z');
  }, LOAD_TIMEOUT_MS);

  it('Chinese CRM (GB18030, yyyy/MM/dd HH:mm and yyyy/M/d H:mm:ss in Shanghai, 是/否): November 2026', async () => {
    const { metrics } = await runMetricsJob({
      data: 'examples/zh-crm',
      mapping: 'config/mappings/zh-crm.yaml',
      period: '2026-11',
      timezone: 'Asia/Shanghai',
      out: mkdtempSync(join(tmpdir(), `zh-crm-${engine}-`)),
      engine,
      allowIncomplete: true,
    });

    const ind = metrics.indicators;
    // Created in November, Shanghai time: GD-001 … GD-004 (GD-004 at 2026/11/30 20:00 = 12:00 UTC);
    // GD-005 (2026/10/31 20:00) is October.
    expect(ind['ticket_volume']!.value).toBe(4);
    // First responses after 0.5, 3, 1 and 2 h: median 1.5 h. 是否差错 是: GD-002 only, 1 of 4.
    expect(ind['first_response_median_h']).toMatchObject({ value: 1.5, n: 4 });
    expect(ind['service_error_rate_pct']).toMatchObject({ value: 25, n: 4 });
    // Resolved in November: GD-001 after 2 h, GD-002 after 24 h.
    expect(ind['resolution_avg_h']).toMatchObject({ value: 13, n: 2 });
    // Answered in November: S-1 5, S-2 3, S-3 4, S-4 2 (2026/11/1 7:59:59 = 31 October 23:59:59 UTC).
    expect(ind['csat_avg']).toMatchObject({ value: 3.5, n: 4 });
    expect(ind['csat_pct']).toMatchObject({ value: 50, n: 4 });
    // Sent in November: S-1, S-2, S-3, S-5; answered: three of them.
    expect(ind['survey_response_rate_pct']).toMatchObject({ value: 75, n: 4 });
    // Teams and channels keep their Chinese names.
    expect(Object.keys(metrics.segments.team).sort()).toEqual(['客服一组', '客服二组']);
    expect(metrics.segments.team['客服一组']!['ticket_volume']!.value).toBe(2);
    expect(metrics.segments.team['客服二组']!['ticket_volume']!.value).toBe(2);
    expect(metrics.segments.team['客服一组']!['csat_avg']!.value).toBeCloseTo(10 / 3, 12);
    expect(metrics.segments.team['客服二组']!['csat_avg']!.value).toBe(4);
    expect(metrics.segments.channel['电话']!['ticket_volume']!.value).toBe(2);
    expect(metrics.segments.channel['微信']!['ticket_volume']!.value).toBe(1);
    expect(metrics.segments.channel['在线客服']!['ticket_volume']!.value).toBe(1);
    expect(metrics.dataQuality.tickets).toMatchObject({ rowsRead: 5, rejected: {}, recordsUsed: 5 });
    expect(metrics.dataQuality.surveys).toMatchObject({ rowsRead: 5, rejected: {}, recordsUsed: 5 });
  }, LOAD_TIMEOUT_MS);
});

describe('the worked exports without encoding and delimiter in their mappings', () => {
  /** A copy of `mapping` without its encoding and delimiter lines: the reader detects them. */
  const withoutOverrides = (mapping: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'detect-')), 'mapping.yaml');
    writeFileSync(file, readFileSync(mapping, 'utf8').split('\n').filter((l) => !/^\s+(encoding|delimiter):/.test(l)).join('\n'));
    return file;
  };

  it.each([
    ['examples/ru-crm', 'config/mappings/ru-crm.yaml', 'Europe/Moscow'],
    ['examples/zh-crm', 'config/mappings/zh-crm.yaml', 'Asia/Shanghai'],
  ])('%s gives the same figures when the encoding and separator are detected', async (data, mapping, timezone) => {
    const run = (m: string) => runMetricsJob({ data, mapping: m, period: '2026-11', timezone, out: mkdtempSync(join(tmpdir(), 'detect-out-')), allowIncomplete: true });
    const stripped = withoutOverrides(mapping);
    expect(readFileSync(stripped, 'utf8')).not.toMatch(/encoding|delimiter/);

    const [stated, detected] = [await run(mapping), await run(stripped)];

    expect(detected.metrics.indicators).toEqual(stated.metrics.indicators);
    expect(detected.metrics.segments).toEqual(stated.metrics.segments);
    expect(detected.metrics.dataQuality).toEqual(stated.metrics.dataQuality);
  });
});
