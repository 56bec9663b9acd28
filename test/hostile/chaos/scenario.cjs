// A seeded chaos campaign against the in-process API, run by test/hostile/fuzz-chaos.test.ts in a
// child process whose exit code is asserted: random sync and async calls, aborts at every
// stage (before the call, from a getter while its arguments are read, while it is queued,
// while Python runs), close() from anywhere (a getter included), garbage collections, and
// Workers terminated at random moments (while loading, converting, calling, settling).
//
//   node --expose-gc scenario.cjs <entry> <probeDir> <seed> <ops> <mode>
//
// mode: 'main' (the calls on this thread), 'workers' (Workers doing the same, terminated at
// random, then 'main'), 'exit' (process.exit() at a random call, work in flight).
// Prints one JSON line: how many promises were made, how many settled, and their outcomes.
// Exits 0; 2 if a promise never settled; anything else is a crash.
'use strict';
const { Worker, isMainThread, workerData } = require('node:worker_threads');

const [entry, probeDir, seedText, opsText, mode] = isMainThread
  ? process.argv.slice(2)
  : workerData.argv;
const { Outliers, PythonFunction } = require(entry);

let seed = Number(seedText) % 2147483647 || 1;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const pick = (items) => items[Math.floor(random() * items.length)];
const gc = globalThis.gc ?? (() => {});

const ALLOWED = new Set([
  'value',
  'AbortError',
  'ClosedError',
  'PythonError',
  'ResultError',
  'TypeError',
  'GetterError', // an argument's getter threw
]);

async function chaos(ops) {
  const made = () => ({
    fn: new PythonFunction('hostile', pick(['sleepy', 'raise_if_odd', 'identity']), {
      paths: [probeDir],
    }),
    detector: new Outliers('hostile', 'indices_every', { paths: [probeDir] }),
  });
  const objects = [made(), made(), made()];
  const outcomes = {};
  const promises = [];
  let settled = 0;
  const record = (name) => {
    outcomes[name] = (outcomes[name] ?? 0) + 1;
    if (!ALLOWED.has(name)) throw new Error(`unexpected outcome ${name}`);
  };
  const track = (promise) => {
    let once = false;
    promises.push(
      promise
        .then(
          () => record('value'),
          (error) => record(error?.name ?? String(error)),
        )
        .finally(() => {
          if (once) throw new Error('a promise settled twice');
          once = true;
          settled++;
        }),
    );
  };

  for (let op = 0; op < ops; op++) {
    if (mode === 'exit' && op === Math.floor(ops / 2)) {
      // Work in flight, some of it inside Python: exit must not crash or hang.
      process.exitCode = 0;
      process.exit(0);
    }
    const slot = Math.floor(random() * objects.length);
    const { fn, detector } = objects[slot];
    const controller = new AbortController();
    // What an argument's getter does while the call reads it.
    const getterDoes = pick(['nothing', 'nothing', 'close', 'abort', 'gc', 'throw']);
    const argument = {
      get value() {
        if (getterDoes === 'close') fn.close();
        if (getterDoes === 'abort') controller.abort();
        if (getterDoes === 'gc') gc();
        if (getterDoes === 'throw')
          throw Object.assign(new Error('getter'), { name: 'GetterError' });
        return 1;
      },
    };
    const when = pick(['none', 'before', 'soon', 'later', 'timeout']);
    const signal =
      when === 'timeout' ? AbortSignal.timeout(1 + Math.floor(random() * 4)) : controller.signal;
    if (when === 'before') controller.abort();
    if (when === 'soon') queueMicrotask(() => controller.abort());
    if (when === 'later') setTimeout(() => controller.abort(), random() * 3);
    const ms = Math.floor(random() * 3);

    switch (pick(['async', 'async', 'async', 'sync', 'detect', 'close', 'gc', 'wait'])) {
      case 'async':
        track(fn.callAsync([ms, argument, 'x'.repeat(ms)], undefined, { signal }));
        break;
      case 'sync':
        try {
          fn.call([0, argument]);
          record('value');
        } catch (error) {
          record(error.name);
        }
        break;
      case 'detect':
        track(detector.detectAsync(new Float64Array(20 + ms), { signal }));
        break;
      case 'close':
        (random() < 0.5 ? fn : detector).close();
        objects[slot] = made();
        break;
      case 'gc':
        gc();
        break;
      case 'wait':
        await new Promise((resolve) => (random() < 0.5 ? setImmediate : setTimeout)(resolve, 1));
        break;
    }
  }
  const watchdog = setTimeout(() => {
    console.log(JSON.stringify({ error: 'not settled', made: promises.length, settled }));
    process.exit(2);
  }, 60_000);
  await Promise.all(promises);
  clearTimeout(watchdog);
  for (const { fn, detector } of objects) {
    fn.close();
    fn.close(); // twice: idempotent
    detector.close();
  }
  return { made: promises.length, settled, outcomes };
}

async function main() {
  const ops = Number(opsText);
  if (!isMainThread) {
    await chaos(ops);
    return;
  }
  let workers = 0;
  if (mode === 'workers') {
    for (let i = 0; i < Math.max(6, Math.floor(ops / 25)); i++) {
      const worker = new Worker(__filename, {
        workerData: {
          argv: [entry, probeDir, String(Math.floor(random() * 1e9)), String(ops), 'main'],
        },
      });
      worker.on('error', (error) => {
        console.error(error);
        process.exitCode = 1;
      });
      // Terminated at a random moment: loading the package, starting Python, mid-campaign.
      await new Promise((resolve) => setTimeout(resolve, random() * 150));
      await worker.terminate();
      workers++;
    }
  }
  const report = await chaos(ops);
  console.log(JSON.stringify({ ...report, workers }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
