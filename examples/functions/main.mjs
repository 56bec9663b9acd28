// PythonFunction on real library functions (the README's "Values between JS and Python" says
// how each argument and result crosses). It imports the package by its name: in this checkout
// (a package may import itself) and in a project that installed py-outliers alike.
// Needs scikit-learn and scipy in the Python py-outliers runs (pip install scikit-learn scipy;
// PY_OUTLIERS_PYTHON names another interpreter or venv).
//
//   node examples/functions/main.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PythonFunction, ndarray } from 'py-outliers';

const here = path.dirname(fileURLToPath(import.meta.url));
let seed = 1;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

const features = Float64Array.from({ length: 10_000 * 8 }, random);
const x = Float64Array.from({ length: 2000 }, (_, i) => Math.sin(i / 7) + 0.3 * random());
const embeddings = Float32Array.from({ length: 1000 * 384 }, random);

const scores = new PythonFunction('models', 'isolation_scores', { paths: [here] });
const s = scores.call([ndarray(features, [10_000, 8])]);
console.log(
  `isolation scores: ${s.constructor.name}(${s.length}), lowest ${Math.min(...s).toFixed(3)}`,
);

const findPeaks = new PythonFunction('scipy.signal', 'find_peaks', { int64: 'int32' });
const [peaks, { peak_heights: heights }] = findPeaks.call([x], { height: 0.5, distance: 5 });
console.log(
  `find_peaks: ${peaks.constructor.name}(${peaks.length}) at ${peaks.slice(0, 3).join(', ')}...; heights ${heights.constructor.name}`,
);

const norm = new PythonFunction('numpy', 'linalg.norm');
const norms = norm.call([ndarray(embeddings, [1000, 384])], { axis: 1 });
console.log(`norms: ${norms.constructor.name}(${norms.length}), first ${norms[0].toFixed(3)}`);

const percentile = new PythonFunction('numpy', 'percentile');
console.log(
  `percentiles 5/50/95: ${Array.from(percentile.call([x, [5, 50, 95]]), (v) => v.toFixed(3)).join(', ')}`,
);

const median = new PythonFunction('numpy', 'median');
console.log(`median: ${median.call([x]).toFixed(3)} (${typeof median.call([x])})`);

const late = await findPeaks.callAsync([x], { height: 0.5 }, { signal: AbortSignal.timeout(1000) });
console.log(`find_peaks, async: ${late[0].length} peaks`);

for (const f of [scores, findPeaks, norm, percentile, median]) f.close(); // or `using` (Node 24+)
