/**
 * The two worked mappings (config/mappings) run end to end on the third-party exports in
 * ../shared/datasets. Expected figures are computed here from the raw CSV with csv-parse and plain
 * arithmetic, independently of the engine's SQL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import { describeEngines } from '../support/engines.js';

const DATASETS = join('..', 'shared', 'datasets');
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
const rows = (file: string): Record<string, string>[] => parse(readFileSync(file), { columns: true, bom: true });

describe.skipIf(!existsSync(DATASETS))('worked mappings on the shared third-party datasets', () => {
  describeEngines('mapped exports', (engine) => {
    it('call-centre calls: volume, first response, FCR, CSAT, answer speed and abandon rate for March 2021 (UTC)', async () => {
      const { metrics } = await runMetricsJob({
        data: join(DATASETS, 'call-center'),
        mapping: 'config/mappings/call-center.yaml',
        period: '2021-03',
        timezone: 'UTC',
        out: join(tmpdir(), `mapping-cc-${engine}`),
        engine,
        // The figures are under test, not the data gate (which may hold a partial third-party export).
        allowIncomplete: true,
      });
      const calls = rows(join(DATASETS, 'call-center', 'calls.csv'));
      const start = Date.parse('2021-03-01T00:00:00Z');
      const end = Date.parse('2021-04-01T00:00:00Z');
      const created = (c: Record<string, string>) => Date.parse(`${c['Date']}T${c['Time']}Z`);
      const talk = (c: Record<string, string>) => {
        const [h, m, s] = c['AvgTalkDuration']!.split(':').map(Number);
        return h! * 3600 + m! * 60 + s!;
      };
      const callEnd = (c: Record<string, string>) => created(c) + (Number(c['Speed of answer in seconds']) + talk(c)) * 1000;
      const inMarch = calls.filter((c) => created(c) >= start && created(c) < end);
      const answered = inMarch.filter((c) => c['Answered (Y/N)'] === 'Y');
      const waits = answered.map((c) => Number(c['Speed of answer in seconds']) / 3600).sort((a, b) => a - b);
      const mid = waits.length / 2;
      const median = waits.length % 2 ? waits[Math.floor(mid)]! : (waits[mid - 1]! + waits[mid]!) / 2;
      const endedInMarch = calls.filter((c) => c['Answered (Y/N)'] === 'Y' && callEnd(c) >= start && callEnd(c) < end);
      const rated = calls.filter((c) => c['Satisfaction rating'] !== '' && callEnd(c) >= start && callEnd(c) < end);
      const ratings = rated.map((c) => Number(c['Satisfaction rating']));

      const ind = metrics.indicators;
      expect(ind['ticket_volume']!.value).toBe(inMarch.length);
      expect(ind['first_response_median_h']!.n).toBe(answered.length);
      expect(rel(ind['first_response_median_h']!.value!, median)).toBeLessThan(1e-9);
      expect(ind['fcr_pct']!.n).toBe(endedInMarch.length);
      const fcr = (100 * endedInMarch.filter((c) => c['Resolved'] === 'Y').length) / endedInMarch.length;
      expect(rel(ind['fcr_pct']!.value!, fcr)).toBeLessThan(1e-9);
      expect(ind['csat_avg']!.n).toBe(ratings.length);
      expect(rel(ind['csat_avg']!.value!, ratings.reduce((a, b) => a + b, 0) / ratings.length)).toBeLessThan(1e-9);
      expect(rel(ind['csat_pct']!.value!, (100 * ratings.filter((r) => r >= 4).length) / ratings.length)).toBeLessThan(1e-9);
      // Topics become teams, every one of them present.
      expect(Object.keys(metrics.segments.team).sort()).toEqual([...new Set(calls.map((c) => c['Topic']!))].sort());
      expect(metrics.dataQuality.tickets.rowsRead).toBe(calls.length);
      expect(metrics.indicators['churn_rate_pct']!.status).toBe('no_data');

      // contacts: one call = one queued contact; answered ones waited "speed of answer" seconds,
      // unanswered ones are abandoned. Both indicators count the calls queued in March.
      expect(metrics.dataQuality.contacts.rowsRead).toBe(calls.length);
      expect(metrics.dataQuality.contacts.recordsUsed).toBe(calls.length);
      const speed = (cs: Record<string, string>[]) => {
        const s = cs.filter((c) => c['Answered (Y/N)'] === 'Y').map((c) => Number(c['Speed of answer in seconds']));
        return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length };
      };
      const abandon = (cs: Record<string, string>[]) => ({ n: cs.length, pct: (100 * cs.filter((c) => c['Answered (Y/N)'] !== 'Y').length) / cs.length });
      const asa = speed(inMarch);
      expect(asa.n).toBe(answered.length);
      expect(ind['answer_speed_avg_s']!.n).toBe(asa.n);
      expect(rel(ind['answer_speed_avg_s']!.value!, asa.mean)).toBeLessThan(1e-9);
      const abandoned = abandon(inMarch);
      expect(ind['abandon_rate_pct']!.n).toBe(abandoned.n);
      expect(rel(ind['abandon_rate_pct']!.value!, abandoned.pct)).toBeLessThan(1e-9);
      // Broken down by team: every Topic, with its own figures.
      const topics = [...new Set(calls.map((c) => c['Topic']!))].sort();
      for (const id of ['answer_speed_avg_s', 'abandon_rate_pct']) {
        expect(Object.keys(metrics.segments.team).filter((team) => metrics.segments.team[team]![id]).sort(), id).toEqual(topics);
      }
      for (const topic of topics) {
        const calls = inMarch.filter((c) => c['Topic'] === topic);
        const seg = metrics.segments.team[topic]!;
        expect(seg['answer_speed_avg_s']!.n, topic).toBe(speed(calls).n);
        expect(rel(seg['answer_speed_avg_s']!.value!, speed(calls).mean), topic).toBeLessThan(1e-9);
        expect(seg['abandon_rate_pct']!.n, topic).toBe(abandon(calls).n);
        expect(rel(seg['abandon_rate_pct']!.value!, abandon(calls).pct), topic).toBeLessThan(1e-9);
      }
    });

    it('Olist orders and reviews: CSAT, on-time delivery and repeat purchase for June 2018 (Sao Paulo time)', async () => {
      const { metrics } = await runMetricsJob({
        data: join(DATASETS, 'olist-sample'),
        mapping: 'config/mappings/olist.yaml',
        period: '2018-06',
        timezone: 'America/Sao_Paulo',
        out: join(tmpdir(), `mapping-olist-${engine}`),
        engine,
        // The figures are under test, not the data gate (which may hold a partial third-party export).
        allowIncomplete: true,
      });
      const dir = join(DATASETS, 'olist-sample');
      // Olist timestamps are Sao Paulo wall-clock times, so "in June 2018 local time" is a string prefix.
      const reviews = rows(join(dir, 'olist_order_reviews_dataset.csv'));
      const byKey = new Map(reviews.map((r) => [`${r['review_id']}/${r['order_id']}`, r]));
      const june = [...byKey.values()].filter((r) => r['review_answer_timestamp']!.startsWith('2018-06') && r['review_score'] !== '');
      const scores = june.map((r) => Number(r['review_score']));
      expect(metrics.indicators['csat_avg']!.n).toBe(scores.length);
      expect(rel(metrics.indicators['csat_avg']!.value!, scores.reduce((a, b) => a + b, 0) / scores.length)).toBeLessThan(1e-9);

      const orders = rows(join(dir, 'olist_orders_dataset.csv'));
      const delivered = orders.filter((o) => o['order_delivered_customer_date']!.startsWith('2018-06') && o['order_estimated_delivery_date'] !== '');
      const onTime = delivered.filter((o) => o['order_delivered_customer_date']! <= o['order_estimated_delivery_date']!);
      expect(metrics.indicators['on_time_delivery_pct']!.n).toBe(delivered.length);
      expect(rel(metrics.indicators['on_time_delivery_pct']!.value!, (100 * onTime.length) / delivered.length)).toBeLessThan(1e-9);

      // Repeat purchase: distinct customer_unique_id with an order purchased 2017-07 … 2018-06, and of them those with two or more.
      const customers = new Map(rows(join(dir, 'olist_customers_dataset.csv')).map((c) => [c['customer_id']!, c['customer_unique_id']!]));
      const perCustomer = new Map<string, number>();
      for (const o of orders) {
        const t = o['order_purchase_timestamp']!;
        const u = customers.get(o['customer_id']!);
        if (u && t >= '2017-07' && t < '2018-07') perCustomer.set(u, (perCustomer.get(u) ?? 0) + 1);
      }
      const repeaters = [...perCustomer.values()].filter((n) => n >= 2).length;
      expect(metrics.indicators['repeat_purchase_rate_pct']!.n).toBe(perCustomer.size);
      expect(rel(metrics.indicators['repeat_purchase_rate_pct']!.value!, (100 * repeaters) / perCustomer.size)).toBeLessThan(1e-9);
      expect(metrics.dataQuality.orders.rowsRead).toBe(orders.length);
    });
  });
});
