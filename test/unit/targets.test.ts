import { describe, expect, it } from 'vitest';
import { INDICATOR_IDS } from '../../functions/metrics/indicators.js';
import { DEFAULT_TARGETS, loadTargets, parseTargets, targetFor } from '../../functions/metrics/config.js';

// The spec's catalog table (indicators.md), typed in by hand: id -> [target, warn].
const SPEC: Record<string, [number, number] | null> = {
  first_response_median_h: [4, 8], first_response_sla_pct: [90, 80], resolution_avg_h: [48, 72], ticket_volume: null,
  answer_speed_avg_s: [30, 60], abandon_rate_pct: [5, 8],
  fcr_pct: [75, 65], reopen_rate_pct: [5, 8], service_error_rate_pct: [2, 4],
  csat_pct: [85, 80], csat_avg: [4.3, 4.0], nps: [40, 30], survey_response_rate_pct: [25, 15],
  servqual_gap_reliability: [0, -0.5], servqual_gap_responsiveness: [0, -0.5], servqual_gap_assurance: [0, -0.5],
  servqual_gap_empathy: [0, -0.5], servqual_gap_tangibles: [0, -0.5], servqual_gap: [0, -0.5],
  on_time_delivery_pct: [95, 90], order_fill_rate_pct: [98, 95], order_accuracy_pct: [99, 97],
  order_change_flexibility_pct: [90, 80], return_rate_pct: [5, 8], repeat_purchase_rate_pct: [30, 20],
  complaint_rate_per_1000_orders: [5, 10], complaint_resolution_median_h: [48, 96], complaint_resolved_in_sla_pct: [90, 80],
  invoice_on_time_pct: [98, 95], invoice_accuracy_pct: [99, 97], churn_rate_pct: [2, 3], retention_rate_pct: [98, 97],
};

describe('targets', () => {
  it('has the 32 indicators of the spec', () => {
    expect([...INDICATOR_IDS].sort()).toEqual(Object.keys(SPEC).sort());
  });

  it.each([['defaults', DEFAULT_TARGETS], ['config/targets.yaml', loadTargets('config/targets.yaml')]] as const)(
    '%s give the spec table, the SLA thresholds and min_sample',
    (_name, cfg) => {
      for (const [id, tw] of Object.entries(SPEC)) {
        expect({ id, ...targetFor(cfg, id, '2026-10') }).toEqual({ id, target: tw?.[0] ?? null, warn: tw?.[1] ?? null });
      }
      expect(cfg.minSample).toBe(30);
      expect(cfg.sla).toEqual({ firstResponseHours: 8, complaintResolutionHours: 72 });
    },
  );

  it('applies a target from the period it names onward, and the earlier one before', () => {
    const cfg = parseTargets(
      'targets:\n  csat_pct:\n    - { from: 2026-07, target: 88, warn: 83 }\n    - { target: 80 }\n  nps: null\n',
      't.yaml',
    );
    expect(targetFor(cfg, 'csat_pct', '2026-06')).toEqual({ target: 80, warn: null });
    expect(targetFor(cfg, 'csat_pct', '2026-07')).toEqual({ target: 88, warn: 83 });
    expect(targetFor(cfg, 'csat_pct', '2027-01')).toEqual({ target: 88, warn: 83 });
    expect(targetFor(cfg, 'nps', '2026-07')).toEqual({ target: null, warn: null });
  });

  it('falls back to the spec default before the first dated entry', () => {
    const cfg = parseTargets('targets:\n  fcr_pct: [{ from: 2027-01, target: 80, warn: 70 }]\n', 't.yaml');
    expect(targetFor(cfg, 'fcr_pct', '2026-12')).toEqual({ target: 75, warn: 65 });
    expect(targetFor(cfg, 'fcr_pct', '2027-01')).toEqual({ target: 80, warn: 70 });
  });

  it('reports every problem with its path', () => {
    const text = [
      'min_sample: 2.5',
      'sla: { first_response_hours: 0 }',
      'targets:',
      '  ticket_volume: { target: 100 }',
      '  reopen_rate_pct: { target: 5, warn: 3 }',
      '  csat_pct: [{ from: 2026-13, target: 85 }]',
      '  made_up: { target: 1 }',
    ].join('\n');
    let problems: string[] = [];
    try {
      parseTargets(text, 'bad.yaml');
    } catch (e) {
      problems = (e as { problems: string[] }).problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^min_sample: /),
        expect.stringMatching(/^sla\.first_response_hours: /),
        'targets.ticket_volume: ticket_volume is neutral (neither higher nor lower is better) and takes no target',
        'targets.reopen_rate_pct.warn: warn (3) must be >= target (5) when lower is better',
        'targets.csat_pct.0.from: expected a period YYYY-MM',
        'targets.made_up: unknown indicator id "made_up"',
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('names the file when it cannot be read or is not YAML', () => {
    expect(() => loadTargets('config/none.yaml')).toThrow('config/none.yaml: cannot read: ENOENT');
    expect(() => parseTargets('targets: [unclosed', 'x.yaml')).toThrow(/^x\.yaml: YAML: /);
  });
});
