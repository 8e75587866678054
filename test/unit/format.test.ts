/**
 * Durations in the unit that suits their size, in every locale, and the minus sign
 * (functions/render/format.ts). Every expected string is written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { changeRoundsToZero, durationUnit, formatChange, formatInt, formatValue } from '../../functions/render/format.js';

const NB = '\u00a0';
const MINUS = '\u2212';

describe('durations in the unit that suits their size', () => {
  it.each([
    // [indicator, value in its own unit, en, ru, zh-CN]
    ['answer_speed_avg_s', 37.575, `37.6${NB}sec`, `37,6${NB}с`, '37.6秒'],
    ['answer_speed_avg_s', 67.83, `1.1${NB}min`, `1,1${NB}мин`, '1.1分钟'], // 67.83 / 60 = 1.13
    ['resolution_avg_h', 0.08, `4.8${NB}min`, `4,8${NB}мин`, '4.8分钟'], // 0.08 h = 288 s = 4.8 min
    ['resolution_avg_h', 0.008, `28.8${NB}sec`, `28,8${NB}с`, '28.8秒'], // 0.008 h = 28.8 s
    ['first_response_median_h', 3.62, `3.6${NB}hr`, `3,6${NB}ч`, '3.6小时'],
    ['complaint_resolution_median_h', 47.9, `47.9${NB}hr`, `47,9${NB}ч`, '47.9小时'], // below 48 h: hours
    ['complaint_resolution_median_h', 72, `3.0${NB}days`, `3,0${NB}дн.`, '3.0天'], // 72 / 24 = 3
    ['resolution_avg_h', 150, `6.3${NB}days`, `6,3${NB}дн.`, '6.3天'], // 150 / 24 = 6.25 -> 6.3
  ] as const)('%s = %s: %s / %s / %s', (id, value, en, ru, zh) => {
    const out = [formatValue(id, value, 'en'), formatValue(id, value, 'ru'), formatValue(id, value, 'zh-CN')];

    expect(out).toEqual([en, ru, zh]);
  });

  it('moves to the next unit when rounding reaches it: 59.97 s is 1.0 min, not 60.0 sec', () => {
    const out = [formatValue('answer_speed_avg_s', 59.97, 'en'), formatValue('answer_speed_avg_s', 59.94, 'en')];

    expect(out).toEqual([`1.0${NB}min`, `59.9${NB}sec`]);
  });

  it('picks the unit by size: seconds, minutes, hours below 48, days', () => {
    const out = [durationUnit(59.9), durationUnit(60), durationUnit(3590), durationUnit(3600), durationUnit(47.9 * 3600), durationUnit(48 * 3600), durationUnit(-120)];

    expect(out).toEqual(['seconds', 'minutes', 'minutes', 'hours', 'hours', 'days', 'minutes']);
  });

  it('prints a change of a duration in the unit that suits the change, with a sign', () => {
    // 0.0800 h − 0.0821 h = −0.0021 h = −7.56 s; 4.8 min − 1 min = +3.8 min; 50 h − 55 h = −5 h.
    const out = [
      formatChange('resolution_avg_h', 0.08, 0.0821, 'en', '{value} pp'),
      formatChange('resolution_avg_h', 0.08, 1 / 60, 'ru', '{value} п. п.'),
      formatChange('resolution_avg_h', 50, 55, 'zh-CN', '{value} 个百分点'),
    ];

    expect(out).toEqual([`${MINUS}7.6${NB}sec`, `+3,8${NB}мин`, `${MINUS}5.0小时`]);
  });

  it('tells a change that prints as zero from one that does not, in the unit printed', () => {
    // 2.5 s is 0.0007 h: zero in hours, but printed as +2.5 sec; 0.04 s prints as +0.0 sec.
    const out = [changeRoundsToZero('first_response_median_h', 2.5 / 3600), changeRoundsToZero('first_response_median_h', 0.04 / 3600), changeRoundsToZero('csat_pct', 0.04), changeRoundsToZero('csat_pct', 0.06)];

    expect(out).toEqual([false, true, true, false]);
  });
});

describe('the minus sign', () => {
  it('writes negative values, changes and counts with U+2212, never a hyphen', () => {
    const out = [
      formatValue('servqual_gap', -0.1263, 'en'),
      formatValue('nps', -12.34, 'ru'),
      formatChange('csat_pct', 80, 85, 'en', '{value} pp'),
      formatChange('ticket_volume', 1612, 1616, 'zh-CN', '{value}'),
      formatInt(-1234, 'en'),
    ];

    expect(out).toEqual([`${MINUS}0.13`, `${MINUS}12,3`, `${MINUS}5.0 pp`, `${MINUS}4`, `${MINUS}1,234`]);
    expect(out.join('')).not.toContain('-');
  });

  it('keeps the plus sign of a rise', () => {
    const out = formatChange('csat_pct', 85, 80, 'ru', '{value} п. п.');

    expect(out).toBe('+5,0 п. п.');
  });
});
