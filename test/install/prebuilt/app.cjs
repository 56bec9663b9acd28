// The app test/install/prebuilt.test.ts installs py-outliers for, as a user's would: it uses the addon's
// main paths (detect, detectAsync, PythonFunction over several dtypes in and out, a result large
// enough to be handed off without a copy, a Python exception, a Worker) and prints what it saw as
// one JSON line, so that each Python environment is checked against the same expectations.
'use strict';

const { Worker, isMainThread, parentPort } = require('node:worker_threads');

const {
  buildInfo,
  ndarray,
  Outliers,
  PythonError,
  PythonFunction,
  runtimeInfo,
} = require('py-outliers');

function spiked(at, value) {
  const values = new Float64Array(1000).fill(1);
  values[at] = value;
  return values;
}

/** A typed array as JSON can hold it: its kind and its values (bigints as strings). */
function typed(array) {
  return { type: array.constructor.name, values: Array.from(array, String) };
}

async function main() {
  const outliers = new Outliers();
  const values = spiked(7, 97);
  const detect = Array.from(outliers.detect(values));
  const detectAsync = Array.from(
    await outliers.detectAsync(values, { signal: AbortSignal.timeout(30_000) }),
  );
  outliers.close();

  const functions = ['cumsum', 'multiply', 'sum', 'sort', 'reshape'].map(
    (name) => new PythonFunction('numpy', name),
  );
  const [cumsum, multiply, sum, sort, reshape] = functions;
  // 20 000 float64 values: 160 KB, over the hand-off threshold (docs/values.md).
  const sorted = await sort.callAsync([
    Float64Array.from({ length: 20_000 }, (_, i) => 20_000 - i),
  ]);
  let error;
  try {
    reshape.call([new Float64Array(3), [2, 2]]);
  } catch (e) {
    error = {
      python: e instanceof PythonError,
      type: e.type,
      traceback: /reshape/.test(e.traceback),
    };
  }
  const report = {
    detect,
    detectAsync,
    cumsum: typed(cumsum.call([Int16Array.from([1, 2, 3])])),
    multiply: typed(multiply.call([Float32Array.from([1.5, 2]), 2])),
    sumAxis0: typed(
      sum.call([ndarray(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3])], { axis: 0 }),
    ),
    sorted: {
      type: sorted.constructor.name,
      length: sorted.length,
      first: sorted[0],
      last: sorted[19_999],
    },
    error,
  };
  for (const f of functions) f.close();

  const worker = await new Promise((resolve, reject) => {
    const w = new Worker(__filename);
    w.once('message', resolve);
    w.once('error', reject);
  });
  const info = runtimeInfo();
  report.worker = worker.detect;
  report.sameInWorker = worker.executable === info.executable;
  Object.assign(report, {
    prebuilt: buildInfo().prebuilt,
    executable: info.executable,
    prefix: info.prefix,
    libpython: info.libpython,
    numpy: info.numpyVersion,
    python: info.pythonVersion,
  });
  console.log(JSON.stringify(report));
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  // A Worker loads the addon again, and must run the interpreter the main thread chose.
  const outliers = new Outliers();
  parentPort.postMessage({
    detect: Array.from(outliers.detect(spiked(3, 50))),
    executable: runtimeInfo().executable,
  });
  outliers.close();
}
