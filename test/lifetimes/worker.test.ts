// worker_threads: the addon loads per environment, Python is per process.
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { Outliers } from '../../src/index.js';
import { PACKAGE_ENTRY, PROBE_DIR, runNode, seedCase } from '../helpers.js';

/** A Worker that runs `body` with `lib` (the built package) in scope and posts its result. */
function inWorker<T>(body: string, workerData: unknown = null): Promise<T> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
    Promise.resolve().then(async () => { ${body} }).then(
      (result) => parentPort.postMessage({ result }),
      (error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData });
    worker.once('message', (m: { result?: T; error?: string }) =>
      m.error === undefined ? resolve(m.result as T) : reject(new Error(m.error)),
    );
    worker.once('error', reject);
  });
}

const SEED = `
  const v = new Float64Array(1000);
  let s = 1; for (let i = 0; i < 1000; i++) { s = (s * 16807) % 2147483647; v[i] = s / 2147483647; }
  v[7] += 97; v[113] += 97; v[835] += 97;
`;

describe('worker_threads', () => {
  it('loads and detects inside a Worker', async () => {
    const result = await inWorker<number[]>(`${SEED}
      return Array.from(new lib.Outliers().detect(v));`);
    expect(result).toEqual([7, 113, 835]);
  });

  it('several Workers and the main thread call at once', async () => {
    const main = new Outliers();
    const workers = Array.from({ length: 4 }, (_, n) =>
      inWorker<number>(
        `${SEED}
        const o = new lib.Outliers();
        let ok = 0;
        for (let i = 0; i < 300; i++) {
          const r = o.detect(v);
          if (r.length === 3 && r[0] === 7 && r[2] === 835) ok++;
          await (i % 50 === 0 ? o.detectAsync(v) : null);
        }
        return ok + workerData;`,
        n * 1000,
      ),
    );
    for (let i = 0; i < 300; i++) expect(main.detect(seedCase()).length).toBe(3);
    expect((await Promise.all(workers)).sort((a, b) => a - b)).toEqual([300, 1300, 2300, 3300]);
  });

  it('Python errors inside a Worker are PythonError there', async () => {
    const result = await inWorker<string[]>(`
      try { new lib.Outliers('probe', 'raise_value_error', { paths: [${JSON.stringify(PROBE_DIR)}] })
              .detect(new Float64Array(2)); }
      catch (e) { return [e.name, e.type, String(e instanceof lib.PythonError)]; }`);
    expect(result).toEqual(['PythonError', 'ValueError', 'true']);
  });

  it('Workers that come and go free their thread state; the process goes on', async () => {
    for (let i = 0; i < 12; i++) {
      expect(await inWorker<number>(`${SEED} return new lib.Outliers().detect(v).length;`)).toBe(3);
    }
    expect(new Outliers().detect(seedCase()).length).toBe(3);
  });

  it('Python started first inside a Worker serves the main thread after the Worker ended', async () => {
    const run = await runNode(`
      const { Worker } = require('node:worker_threads');
      const entry = ${JSON.stringify(PACKAGE_ENTRY)};
      const w = new Worker("const l = require(" + JSON.stringify(entry) + ");" +
        "require('node:worker_threads').parentPort.postMessage(l.runtimeInfo().pythonVersion)",
        { eval: true });
      w.on('message', (v) => console.log('worker', v));
      w.on('exit', () => {
        const { Outliers } = require(entry);
        console.log('main', new Outliers().detect(new Float64Array([0,0,0,0,0,0,0,0,0,0,9])).join());
      });`);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^worker 3\.\d+\.\d+\nmain 10\n$/);
    expect(run.status).toBe(0);
  });
});
