/**
 * The plots `epp simulate --plots DIR` writes: a TTFT CDF (log-scale time axis) with one line per
 * configuration, and a bar chart of hit rates against the oracle. Plain SVG 1.1 text with no
 * scripts or external references, so it renders anywhere (browsers, GitHub, image viewers).
 */
import type { SimulationResult } from './simulator.js';

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 64, right: 180, top: 40, bottom: 52 } as const;
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
/** Distinguishable on white and for common colour-vision deficiencies (Okabe–Ito). */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;

function colour(i: number): string {
  return COLOURS[i % COLOURS.length] ?? '#000000';
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function open(title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
}

function legend(labels: readonly string[]): string[] {
  const x = WIDTH - MARGIN.right + 16;
  return labels.flatMap((label, i) => {
    const y = MARGIN.top + 10 + i * 20;
    return [
      `<rect x="${x}" y="${y - 9}" width="14" height="10" fill="${colour(i)}"/>`,
      `<text x="${x + 20}" y="${y}">${escapeXml(label.length > 22 ? `…${label.slice(-21)}` : label)}</text>`,
    ];
  });
}

function fixed(v: number): string {
  return v.toFixed(1);
}

/**
 * TTFT CDF: x = TTFT in ms on a log scale spanning every configuration's quantiles, y = fraction of
 * requests. Configurations without completed requests are left out of the lines but keep their
 * legend colour.
 */
export function ttftCdfSvg(results: readonly SimulationResult[], title = 'TTFT CDF'): string {
  const all = results.flatMap((r) => r.ttftQuantilesMs.filter((v) => v > 0 && Number.isFinite(v)));
  const lo = all.length === 0 ? 1 : 10 ** Math.floor(Math.log10(Math.min(...all)));
  const hi = all.length === 0 ? 10 : 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const span = Math.log10(hi) - Math.log10(lo) || 1;
  const xOf = (ms: number): number => MARGIN.left + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / span) * PLOT_W;
  const yOf = (q: number): number => MARGIN.top + (1 - q) * PLOT_H;
  const out = open(title);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const x = fixed(xOf(d));
    out.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + PLOT_H}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="middle">${d >= 1000 ? `${d / 1000} s` : `${d} ms`}</text>`);
  }
  for (let q = 0; q <= 1.0001; q += 0.25) {
    const y = fixed(yOf(q));
    out.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + PLOT_W}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${q.toFixed(2)}</text>`);
  }
  out.push(`<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 12}" text-anchor="middle">time to first token (log scale)</text>`);
  out.push(`<text x="16" y="${MARGIN.top + PLOT_H / 2}" transform="rotate(-90 16 ${MARGIN.top + PLOT_H / 2})" text-anchor="middle">fraction of requests</text>`);
  results.forEach((r, i) => {
    const qs = r.ttftQuantilesMs;
    if (qs.length < 2) return;
    const points = qs.map((ms, k) => `${fixed(xOf(ms))},${fixed(yOf(k / (qs.length - 1)))}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour(i)}" stroke-width="2" points="${points}"/>`);
  });
  out.push(...legend(results.map((r) => r.config)), '</svg>');
  return `${out.join('\n')}\n`;
}

/** Hit rate per configuration as bars, with the oracle (one infinite shared cache) as a dashed line. */
export function hitRateSvg(oracleHitRate: number, results: readonly SimulationResult[], title = 'Prefix-cache hit rate'): string {
  const out = open(title);
  const yOf = (v: number): number => MARGIN.top + (1 - v) * PLOT_H;
  for (let v = 0; v <= 1.0001; v += 0.2) {
    const y = fixed(yOf(v));
    out.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + PLOT_W}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${v.toFixed(1)}</text>`);
  }
  const slot = PLOT_W / Math.max(1, results.length);
  results.forEach((r, i) => {
    const v = Math.min(1, Math.max(0, r.hitRate));
    const x = MARGIN.left + i * slot + slot * 0.15;
    out.push(`<rect class="bar" x="${fixed(x)}" y="${fixed(yOf(v))}" width="${fixed(slot * 0.7)}" height="${fixed(v * PLOT_H)}" fill="${colour(i)}"/>`);
    out.push(`<text x="${fixed(x + slot * 0.35)}" y="${fixed(yOf(v) - 4)}" text-anchor="middle">${v.toFixed(3)}</text>`);
  });
  const oy = fixed(yOf(Math.min(1, Math.max(0, oracleHitRate))));
  out.push(`<line x1="${MARGIN.left}" y1="${oy}" x2="${MARGIN.left + PLOT_W}" y2="${oy}" stroke="#444" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${MARGIN.left + PLOT_W}" y="${Number(oy) - 4}" text-anchor="end">oracle ${oracleHitRate.toFixed(3)}</text>`);
  out.push(`<text x="16" y="${MARGIN.top + PLOT_H / 2}" transform="rotate(-90 16 ${MARGIN.top + PLOT_H / 2})" text-anchor="middle">prompt tokens served from cache</text>`);
  out.push(...legend(results.map((r) => r.config)), '</svg>');
  return `${out.join('\n')}\n`;
}
