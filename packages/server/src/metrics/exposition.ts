// Prometheus text exposition format 0.0.4: `# HELP` / `# TYPE` lines, then one `name{labels} value` line per
// sample. https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details
import type { LabelValues, MetricFamily } from './registry.js';

/** Go's float text as Prometheus reads it: +Inf, -Inf, NaN, otherwise the shortest round-trip decimal. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

/** HELP text: backslash and line feed are escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(constLabels: LabelValues, labels: LabelValues): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(constLabels)) parts.push(`${k}="${escapeLabelValue(v)}"`);
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function formatFamily(family: MetricFamily, constLabels: LabelValues = {}): string {
  let out = `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
  for (const s of family.samples()) {
    out += `${family.name}${s.suffix}${formatLabels(constLabels, s.labels)} ${formatValue(s.value)}\n`;
  }
  return out;
}
