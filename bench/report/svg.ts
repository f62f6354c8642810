// A dependency-free SVG chart of the end-to-end results: per scenario,
// throughput, p99 latency and CPU per request of every target as horizontal
// bars (CPU per request being the steadiest figure on a shared machine).
import type { ScenarioResult } from '../e2e/scenarios';

const COLORS: Record<string, string> = {
  direct: '#9e9e9e',
  nginx: '#2e7d32',
  haproxy: '#1565c0',
  httpd: '#c62828',
};
const EDGE_COLORS = ['#ffb74d', '#fb8c00', '#e65100', '#bf360c'];

function colorOf(label: string, edgeIndex: Map<string, number>): string {
  if (label.startsWith('mcmp-edge')) return EDGE_COLORS[(edgeIndex.get(label) ?? 0) % EDGE_COLORS.length] as string;
  return COLORS[label] ?? '#6a1b9a';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
}

const WIDTH = 1100;
const PANEL = 345;
const LABEL_W = 125;
const BAR_MAX = 160;
const BAR_H = 14;
const BAR_GAP = 4;

function panel(x: number, y: number, title: string, rows: ReadonlyArray<{ label: string; value: number; text: string; color: string }>): string {
  const max = Math.max(...rows.map((r) => (Number.isFinite(r.value) ? r.value : 0)), 1e-9);
  const parts = [`<text x="${x}" y="${y}" class="panel">${esc(title)}</text>`];
  rows.forEach((r, i) => {
    const by = y + 8 + i * (BAR_H + BAR_GAP);
    const w = Number.isFinite(r.value) ? Math.max(1, (r.value / max) * BAR_MAX) : 0;
    parts.push(`<text x="${x + LABEL_W - 6}" y="${by + BAR_H - 3}" class="label" text-anchor="end">${esc(r.label)}</text>`);
    parts.push(`<rect x="${x + LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${r.color}"/>`);
    parts.push(`<text x="${x + LABEL_W + w + 5}" y="${by + BAR_H - 3}" class="value">${esc(r.text)}</text>`);
  });
  return parts.join('\n');
}

export interface ChartMeta {
  readonly title: string;
  readonly subtitle: string;
}

export function resultsSvg(results: readonly ScenarioResult[], meta: ChartMeta): string {
  const edgeLabels = [...new Set(results.flatMap((r) => r.targets.filter((t) => t.kind === 'mcmp-edge').map((t) => t.label)))].sort();
  const edgeIndex = new Map(edgeLabels.map((l, i) => [l, i]));
  const body: string[] = [];
  let y = 70;
  for (const r of results) {
    const targets = r.targets.filter((t) => t.failure === undefined && Number.isFinite(t.rps));
    body.push(`<text x="20" y="${y}" class="scenario">${esc(r.name)}</text>`);
    y += 20;
    const rows = (value: (t: (typeof targets)[number]) => number, text: (v: number) => string): Array<{ label: string; value: number; text: string; color: string }> =>
      targets.map((t) => ({ label: t.label, value: value(t), text: text(value(t)), color: colorOf(t.label, edgeIndex) }));
    body.push(panel(20, y, 'requests/s (higher is better)', rows((t) => t.rps, (v) => fmt(v, 0))));
    body.push(panel(20 + PANEL + 10, y, 'p99 latency, ms (lower is better)', rows((t) => t.p99Ms, (v) => fmt(v, 2))));
    body.push(panel(20 + 2 * (PANEL + 10), y, 'proxy CPU µs per request (lower is better)', rows((t) => t.cpuUsPerReq ?? NaN, (v) => fmt(v, 1))));
    y += 8 + Math.max(1, targets.length) * (BAR_H + BAR_GAP) + 28;
  }
  const height = y + 10;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 18px; font-weight: bold; }
  .subtitle { font-size: 12px; fill: #555; }
  .scenario { font-size: 14px; font-weight: bold; }
  .panel { font-size: 12px; fill: #333; }
  .label { font-size: 11px; }
  .value { font-size: 11px; fill: #333; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="20" y="28" class="title">${esc(meta.title)}</text>
<text x="20" y="48" class="subtitle">${esc(meta.subtitle)}</text>
${body.join('\n')}
</svg>
`;
}
