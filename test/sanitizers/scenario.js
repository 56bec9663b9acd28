// The sanitizer scenario (`make asan` runs it under LeakSanitizer, `make valgrind` under
// memcheck): exercises every path of the addon that allocates
// (sync and async calls, errors of each kind, pins kept by Python, close, GC of unclosed
// objects, a Worker) and then lets the process end normally, so that whatever the addon
// allocated and did not free is reported. The test suite runs with leak detection off: its
// process.exit() and worker.terminate() cases make Node itself leak (V8 heap pages), and a
// suppression for Node would hide the addon's allocations too (they are made on Node's stack).
'use strict';
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const lib = require('../../dist/index.js');
const PROBES = path.join(__dirname, '..', 'python');
const probe = (name) => new lib.Outliers('probe', name, { paths: [PROBES] });

async function main() {
  const o = new lib.Outliers();
  const v = new Float64Array(5000).map((_, i) => (i * 7919) % 1000);
  v[42] = 1e6;
  for (let i = 0; i < 2000; i++) o.detect(v);
  await Promise.all(Array.from({ length: 2000 }, () => o.detectAsync(v)));
  probe('all_indices').detect(new Float64Array(3000)); // larger than the scratch buffer
  for (const name of [
    'raise_value_error',
    'returns_none',
    'returns_out_of_range',
    'returns_mask',
  ]) {
    const p = probe(name);
    try {
      p.detect(v);
    } catch {
      /* expected */
    }
    await p.detectAsync(v).catch(() => {});
  }
  // A pin Python holds, then lets go of: if the pin (V8's BackingStore) were not released,
  // LeakSanitizer would report the buffer.
  probe('keep').detect(new Float64Array(1000));
  probe('keep_slice').detect(new Float64Array(2000));
  probe('clear_kept').detect(new Float64Array(1));
  const closing = new lib.Outliers();
  const pending = Array.from({ length: 100 }, () => closing.detectAsync(v));
  closing.close();
  await Promise.allSettled(pending);
  for (let i = 0; i < 100; i++) new lib.Outliers().detect(v); // collected, never closed
  await pythonFunctionPaths();
  global.gc?.();
  await new Promise((resolve, reject) => {
    const worker = new Worker(
      `const lib = require(${JSON.stringify(require.resolve('../../dist/index.js'))});
       const o = new lib.Outliers(); const v = new Float64Array(100); v[1] = 1e3;
       o.detect(v); o.detectAsync(v).then(() => require('node:worker_threads').parentPort.postMessage('ok'));`,
      { eval: true },
    );
    worker.once('message', () => worker.once('exit', resolve));
    worker.once('error', reject);
  });
  console.log('scenario done');
}

// PythonFunction: every argument kind in, every result kind out (copied and handed off), the
// errors of each side, pins kept by Python, async calls, close.
async function pythonFunctionPaths() {
  const fn = (name) => new lib.PythonFunction('functions', name, { paths: [PROBES] });
  const describe = fn('describe');
  const args = [
    Float32Array.from([1, 2]),
    lib.ndarray(new Int16Array(6), [2, 3]),
    new BigUint64Array(3),
    3,
    1.5,
    2n ** 90n,
    'text',
    [null, true, { nested: [1] }],
  ];
  for (let i = 0; i < 200; i++) describe.call(args, { k: new Uint8Array(4) });
  await Promise.all(Array.from({ length: 200 }, () => describe.callAsync(args, { k: 1 })));
  for (const dtype of ['float64', 'float32', 'int64', 'uint64', 'bool', 'float16', 'int8']) {
    fn('of_dtype').call([dtype]);
    await fn('of_dtype').callAsync([dtype], {}, { int64: 'int32' });
  }
  fn('layouts').call();
  fn('scalars').call();
  fn('python_values').call();
  for (const kind of ['set', 'generator', 'object_array', 'self', 'int_key']) {
    try {
      fn('bad').call([kind]);
    } catch {
      /* expected */
    }
    await fn('bad')
      .callAsync([kind])
      .catch(() => {});
  }
  try {
    describe.call([new Map()]);
  } catch {
    /* expected */
  }
  for (const mode of [0, 1, 2]) {
    require('../../dist/native.js').loadAddon().setResultTransfer(mode);
    fn('fresh').call([100_000]);
    await fn('fresh').callAsync([100_000]);
    fn('fresh_in_list').call([50_000]);
  }
  require('../../dist/native.js').loadAddon().setResultTransfer(0);
  fn('keep').call([new Float64Array(1000)]);
  await fn('keep').callAsync([new Float64Array(1000)]);
  fn('drop_kept').call();
  const closing = fn('noop');
  const pending = Array.from({ length: 50 }, () => closing.callAsync([new Float64Array(10)]));
  closing.close();
  await Promise.allSettled(pending);
  fn('forget_fresh').call();
  await hostilePaths();
}

// What a hostile caller or hostile Python does (test/hostile/hostile.test.ts): big integers both ways,
// lone surrogates, results whose reading would run code that empties them, conversions that
// raise, bool bytes, weakly watched arrays, close() from a getter.
async function hostilePaths() {
  const hostile = (name) => new lib.PythonFunction('hostile', name, { paths: [PROBES] });
  const identity = hostile('identity');
  const values = [-(2n ** 300n) + 5n, 2n ** 64n, 'a\ud800b', { ['k\udc80']: '\udfff' }, [1, , 3]];
  for (let i = 0; i < 50; i++) identity.call([values]);
  await identity.callAsync([values]);
  for (const kind of ['index', 'float32', 'float', 'int', 'small_int', 'zero_d', 'array']) {
    hostile('list_with').call([kind, 20]);
    await hostile('dict_with').callAsync([kind, 20]);
  }
  hostile('int_beyond_with_bad_abs').call();
  await hostile('huge_broadcast')
    .callAsync()
    .catch(() => {});
  hostile('bool_bytes_large').call([100_000, 7]);
  hostile('fresh_weakly_watched').call([100_000]);
  hostile('forget_weak').call();
  for (const kind of ['nul', 'surrogate']) {
    try {
      hostile('raise_text').call([kind]);
    } catch {
      /* expected */
    }
  }
  const closing = hostile('identity');
  try {
    closing.call([
      {
        get x() {
          closing.close();
          return 1;
        },
      },
    ]);
  } catch {
    /* expected: ClosedError */
  }
}

main();
