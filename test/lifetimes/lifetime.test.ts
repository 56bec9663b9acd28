// Who keeps what alive: JS memory that Python still holds, Python functions that JS dropped.
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { Outliers } from '../../src/index.js';
import { probe, reportOf, seedCase } from '../helpers.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc (vitest.config.mts sets it)');

/** Several full GCs with turns of the event loop between them, so finalizers run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await sleep(5);
  }
}

const MB = 1024 * 1024;
const arrayBufferBytes = (): number => process.memoryUsage().arrayBuffers;

describe('JS memory that Python keeps stays alive and correct', () => {
  const keep = probe('keep');
  const keepSlice = probe('keep_slice');
  const reportKept = probe('report_kept');
  const clearKept = probe('clear_kept');

  it('after JS dropped every reference and GC ran, Python reads the right data', async () => {
    clearKept.detect(new Float64Array(1));
    (() => {
      keep.detect(new Float64Array(100_000).fill(2));
      keepSlice.detect(new Float64Array(1000).fill(3));
    })();
    await collect();
    // Reuse of freed memory would show up as other values here.
    const garbage = Array.from({ length: 50 }, () => new Float64Array(100_000).fill(7));
    expect(garbage.length).toBe(50);
    await collect();
    const facts = reportOf(() => reportKept.detect(new Float64Array(1)));
    expect(facts).toEqual({ sums: [200_000, 2997], lengths: [100_000, 999] });
    clearKept.detect(new Float64Array(1));
  });

  it('memory stays alive after the buffer is transferred away and collected', async () => {
    clearKept.detect(new Float64Array(1));
    (() => {
      const values = new Float64Array(50_000).fill(5);
      keep.detect(values);
      const moved = structuredClone(values.buffer, { transfer: [values.buffer] });
      expect(values.length).toBe(0);
      expect(moved.byteLength).toBe(400_000);
    })();
    await collect();
    const facts = reportOf(() => reportKept.detect(new Float64Array(1)));
    expect(facts['sums']).toEqual([250_000]);
    clearKept.detect(new Float64Array(1));
  });

  it('the pin is released when Python lets go, and none is taken when Python keeps nothing', async () => {
    clearKept.detect(new Float64Array(1));
    await collect();
    const base = arrayBufferBytes();

    (() => keep.detect(new Float64Array(5 * MB)))(); // 40 MiB, kept by Python
    await collect();
    expect(arrayBufferBytes() - base).toBeGreaterThanOrEqual(39 * MB);

    clearKept.detect(new Float64Array(1));
    await collect();
    expect(arrayBufferBytes() - base).toBeLessThan(4 * MB);

    const noop = probe('noop');
    (() => noop.detect(new Float64Array(5 * MB)))(); // not kept: nothing pins it
    await collect();
    expect(arrayBufferBytes() - base).toBeLessThan(4 * MB);
  });
});

describe('Python functions are released when JS lets go', () => {
  const refcount = (): number =>
    reportOf(() => probe('report_noop_refcount').detect(new Float64Array(1)))['refcount'] as number;

  /** The count once it reaches `target` (or stops changing, for target -1). */
  async function settled(target: number): Promise<number> {
    // close() and finalizers hand the reference to the Python thread: give it a moment.
    let last = refcount();
    for (let i = 0; i < 100; i++) {
      await sleep(10);
      const now = refcount();
      if (now === target || (target === -1 && now === last)) return now;
      last = now;
    }
    return last;
  }

  it('close() releases the function', async () => {
    const baseline = refcount();
    const detectors = Array.from({ length: 200 }, () => probe('noop'));
    expect(refcount()).toBe(baseline + 200);
    for (const d of detectors) d.close();
    expect(await settled(baseline)).toBe(baseline);
  });

  it('garbage collection of unclosed objects releases the function', async () => {
    await collect(); // objects of earlier tests must not fall into the measurement
    const baseline = await settled(-1);
    (() => {
      for (let i = 0; i < 200; i++) probe('noop').detect(new Float64Array(2));
    })();
    await collect();
    expect(await settled(baseline)).toBe(baseline);
  });

  it('many objects at once all work', () => {
    const detectors = Array.from({ length: 500 }, () => new Outliers());
    for (const d of detectors) expect(Array.from(d.detect(seedCase()))).toEqual([7, 113, 835]);
    detectors.forEach((d, i) => i % 2 === 0 && d.close());
  });

  it('the input view is not leaked by a call', () => {
    // sys.getrefcount(data) inside the call: the view's own count must not creep up.
    const counts = Array.from({ length: 5 }, () =>
      reportOf(() => probe('report_refcounts').detect(new Float64Array(4))),
    );
    expect(new Set(counts.map((c) => c['refcount'])).size).toBe(1);
  });
});
