// The report's log-log chart: each family's median latency by input size, as SVG.
import { SIZES } from '../protocol/measure.mjs';
import { MODES, sizeLabel } from '../protocol/labels.mjs';

/** `find(mode, size)` gives a row of results.json's `results`, or undefined. */
export function chart(find) {
  const series = [
    ['inproc', '#1f77b4', ''],
    ['inproc_trivial', '#1f77b4', '4 3'],
    ['async', '#17becf', ''],
    ['grpc', '#d62728', ''],
    ['grpc_repeated', '#ff9896', ''],
    ['grpc_trivial', '#d62728', '4 3'],
    ['ncp', '#9467bd', ''],
    ['python', '#2ca02c', ''],
  ];
  const sizes = SIZES.filter((s) => s > 0);
  const values = series.flatMap(([m]) => sizes.map((s) => find(m, s)?.medianUs).filter(Boolean));
  const [W, H, L, R, T, B] = [760, 460, 70, 230, 20, 50];
  const xMin = Math.log10(sizes[0]);
  const xMax = Math.log10(sizes.at(-1));
  const yMin = Math.floor(Math.log10(Math.min(...values)));
  const yMax = Math.ceil(Math.log10(Math.max(...values)));
  const x = (s) => L + ((Math.log10(s) - xMin) / (xMax - xMin || 1)) * (W - L - R);
  const y = (v) => T + (1 - (Math.log10(v) - yMin) / (yMax - yMin || 1)) * (H - T - B);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (let d = yMin; d <= yMax; d++) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(10 ** d)}" y2="${y(10 ** d)}" stroke="#ddd"/>`);
    const v = 10 ** d;
    const tick =
      v < 1
        ? `${v.toPrecision(1)} µs`
        : v < 1e3
          ? `${v} µs`
          : v < 1e6
            ? `${v / 1e3} ms`
            : `${v / 1e6} s`;
    out.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${tick}</text>`);
  }
  for (const s of sizes) {
    out.push(`<line x1="${x(s)}" x2="${x(s)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${x(s)}" y="${H - B + 16}" text-anchor="middle">${sizeLabel(s)}</text>`);
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">input size (values, log)</text>`,
  );
  out.push(
    `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">median time per call (log)</text>`,
  );
  series.forEach(([mode, color, dash], i) => {
    const points = sizes.map((s) => [s, find(mode, s)?.medianUs]).filter(([, v]) => v);
    if (points.length === 0) return;
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}" points="${points.map(([s, v]) => `${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [s, v] of points)
      out.push(`<circle cx="${x(s).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = T + 14 + i * 20;
    out.push(
      `<line x1="${W - R + 16}" x2="${W - R + 46}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/>`,
    );
    out.push(`<text x="${W - R + 52}" y="${ly}">${MODES[mode]}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
