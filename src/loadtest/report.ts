/** The readable report of one run, printed on stdout. */
import { errorList, fmt, ms, table } from './format.js';
import type { LoadtestResult } from './loadtest.js';
import type { StageCounts } from './stage-context.js';

const IDENTITY: Record<LoadtestResult['identity'], string> = {
  header: 'x-inference-pod response header',
  metrics: 'per-replica /metrics deltas (requests sent one at a time)',
  none: 'unknown: no x-inference-pod header and no --replica-metrics, so affinity and distribution cannot be measured',
};

function countsLine(c: StageCounts): string {
  const parts = [`${c.ok}/${c.planned} ok`];
  const failed = c.sent - c.ok;
  if (failed > 0) parts.push(`${failed} failed: ${errorList(c.errors)}`);
  if (c.notStarted > 0) parts.push(`${c.notStarted} not started (stage deadline)`);
  parts.push(`${(c.elapsedMs / 1000).toFixed(2)} s`);
  return parts.join(', ');
}

/** Total failed and not-started requests of every stage that ran, health included. */
export function problemCount(r: LoadtestResult): number {
  const stages = [r.prefix?.counts, r.distribution?.counts, r.throughput?.counts, r.latency?.counts];
  return (r.health.ok ? 0 : 1) + stages.reduce((a, c) => a + (c === undefined ? 0 : c.sent - c.ok + c.notStarted), 0);
}

/** Formats `r` as text (several lines, ending in a newline). */
export function formatReport(r: LoadtestResult): string {
  const out: string[] = [];
  out.push(`epp loadtest ${r.url}  model ${r.model}  (${(r.elapsedMs / 1000).toFixed(1)} s)`);
  out.push(`replica identity: ${IDENTITY[r.identity]}`);
  out.push('');
  const h = r.health;
  out.push(
    `health        ${h.ok ? 'ok' : 'FAILED'}: /v1/models HTTP ${h.modelsStatus || '-'} (${h.models.length} model${h.models.length === 1 ? '' : 's'}); ` +
      `tiny completion HTTP ${h.completionStatus || '-'} in ${ms(h.completionLatencyMs)} ms${h.replica === undefined ? '' : ` (served by ${h.replica})`}`,
  );
  for (const p of h.problems) out.push(`              ${p}`);
  if (r.prefix !== undefined) {
    const p = r.prefix;
    out.push(`prefix        affinity ${fmt(p.affinity, 3)} over ${p.groups.length} groups (${countsLine(p.counts)})`);
    out.push(`              TTFT p50: first of a group ${ms(p.ttftFirstMs)} ms, later ${ms(p.ttftLaterMs)} ms` + (Number.isFinite(p.cachedTokensLater) ? `; cached prompt tokens per later request ${fmt(p.cachedTokensLater, 0)}` : ''));
    if (p.unattributed > 0) out.push(`              ${p.unattributed} successful requests with unknown replica (not in the affinity)`);
    const rows = p.groups.map((g) => [
      `group ${g.group} (${g.api})`,
      Object.entries(g.replicas)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([name, n]) => `${name} ${n}`)
        .join(', ') || '-',
      `top share ${fmt(g.topShare, 2)}`,
    ]);
    out.push(table(rows, '              '));
  }
  if (r.distribution !== undefined) {
    const d = r.distribution;
    out.push(`distribution  balance (max/mean) ${fmt(d.balance, 2)} over ${Object.keys(d.perReplica).length} replicas (${countsLine(d.counts)})`);
    const rows = Object.entries(d.perReplica).map(([name, n]) => [name, String(n)]);
    if (d.unattributed > 0) rows.push(['(unknown replica)', String(d.unattributed)]);
    if (rows.length > 0) out.push(table(rows, '              '));
  }
  if (r.throughput !== undefined) {
    const t = r.throughput;
    out.push(`throughput    ${fmt(t.requestsPerSec, 1)} requests/s, ${fmt(t.outputTokensPerSec, 1)} output tokens/s at concurrency ${t.concurrency} (${countsLine(t.counts)})`);
  }
  if (r.latency !== undefined) {
    const l = r.latency;
    out.push(`latency       streaming at concurrency ${l.concurrency} (${countsLine(l.counts)})`);
    out.push(
      table(
        [
          ['', 'p50', 'p95', 'p99', 'samples'],
          ['end-to-end ms', ms(l.e2eMs.p50), ms(l.e2eMs.p95), ms(l.e2eMs.p99), String(l.e2eMs.count)],
          ['TTFT ms', ms(l.ttftMs.p50), ms(l.ttftMs.p95), ms(l.ttftMs.p99), String(l.ttftMs.count)],
          ['ITL ms', ms(l.itlMs.p50), ms(l.itlMs.p95), ms(l.itlMs.p99), String(l.itlMs.count)],
        ],
        '              ',
      ),
    );
  }
  const problems = problemCount(r);
  out.push('');
  out.push(problems === 0 ? 'errors        none' : `errors        ${problems} request${problems === 1 ? '' : 's'} failed or not started (see the stages above)`);
  return `${out.join('\n')}\n`;
}
