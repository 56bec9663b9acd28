// The CPUs the process may really use (runtimeInfo().usableCpus) follow a cgroup CPU quota
// (docker run --cpus, a Kubernetes CPU limit) as well as the affinity mask, which Node's
// os.availableParallelism() alone sees; the default is one Python thread whatever they are,
// and PY_OUTLIERS_THREADS still sets the count. Each case runs
// a child process inside a cgroup v1 `cpu` group made for it (this needs root and the v1 `cpu`
// controller mounted at /sys/fs/cgroup/cpu, as on the CI machine; elsewhere it is skipped and
// says why).
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { PACKAGE_ENTRY, runNode } from '../helpers.js';

const CPU_ROOT = '/sys/fs/cgroup/cpu';
const made: string[] = []; // innermost first, removed after the tests

/** A new cgroup below `parent` with a quota of `cpus` (undefined: none). */
function makeCgroup(parent: string, name: string, cpus?: number): string {
  const dir = path.join(parent, `${name}-${process.pid}`);
  fs.mkdirSync(dir);
  made.unshift(dir);
  if (cpus !== undefined) {
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), '100000');
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(Math.round(cpus * 100_000)));
  }
  return dir;
}

/** Why no cgroup can be made here, or '' if one can. */
function whyNoCgroup(): string {
  if (process.getuid?.() !== 0) return 'not root';
  if (!fs.existsSync(path.join(CPU_ROOT, 'cpu.cfs_quota_us'))) {
    return `no cgroup v1 cpu controller at ${CPU_ROOT}`;
  }
  try {
    fs.rmdirSync(makeCgroup(CPU_ROOT, 'py-outliers-probe'));
    made.shift();
    return '';
  } catch (error) {
    return `cannot make a cgroup: ${(error as Error).message}`;
  }
}
const noCgroup = whyNoCgroup();
if (noCgroup !== '') console.warn(`cpu-quota tests skipped: ${noCgroup}`);

afterAll(() => {
  for (const dir of made) fs.rmdirSync(dir);
});

/** runtimeInfo()'s thread facts, and what Node itself reports, from a child inside `cgroup`. */
async function insideCgroup(
  cgroup: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Record<string, unknown>> {
  const script = `
    const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
    const info = lib.runtimeInfo();
    console.log(JSON.stringify({
      pythonThreads: info.pythonThreads,
      usableCpus: info.usableCpus,
      lowLatencyUs: info.lowLatencyUs,
      availableParallelism: require('node:os').availableParallelism(),
    }));`;
  const r = await runNode(script, {
    env: { ...process.env, PY_OUTLIERS_THREADS: '', ...env },
    // The shell joins the cgroup, then becomes node: the whole process starts inside it.
    prefix: ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup],
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe.skipIf(noCgroup !== '')('usable CPUs and the thread count under a CPU quota', () => {
  it('half a CPU: one usable CPU and one Python thread, though Node counts every core', async () => {
    const out = await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-half', 0.5));
    expect(out).toMatchObject({ pythonThreads: 1, usableCpus: 1 });
  });

  it('one and a half CPUs count as two, where the machine has them', async () => {
    const cores = (await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-probe2')))
      .availableParallelism;
    const out = await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-1.5', 1.5));
    expect(out).toMatchObject({ pythonThreads: 1, usableCpus: Math.min(2, cores as number) });
  });

  it("a parent's quota binds: a cgroup with no quota of its own inside a 0.5-CPU one", async () => {
    const parent = makeCgroup(CPU_ROOT, 'py-outliers-parent', 0.5);
    const out = await insideCgroup(makeCgroup(parent, 'child'));
    expect(out).toMatchObject({ pythonThreads: 1, usableCpus: 1 });
  });

  it('no quota, or a generous one: the affinity mask decides', async () => {
    const cores = (await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-none')))
      .availableParallelism;
    const expected = { pythonThreads: 1, usableCpus: cores };
    expect(await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-many', 64))).toMatchObject(
      expected,
    );
    expect(await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-unset'))).toMatchObject(expected);
  });

  it('PY_OUTLIERS_THREADS still sets the count inside a quota', async () => {
    const out = await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-set', 0.5), {
      PY_OUTLIERS_THREADS: '3',
    });
    expect(out).toMatchObject({ pythonThreads: 3, usableCpus: 1 });
  });

  it('the low-latency mode stays on under a quota (the threads still have CPUs of their own)', async () => {
    const cores = (await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-probe3')))
      .availableParallelism;
    const out = await insideCgroup(makeCgroup(CPU_ROOT, 'py-outliers-spin', 0.5), {
      PY_OUTLIERS_LOW_LATENCY_US: '100',
    });
    expect(out).toMatchObject({ usableCpus: 1, lowLatencyUs: (cores as number) >= 2 ? 100 : 0 });
  });
});
