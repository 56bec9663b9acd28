// Python as real code uses it, inside Node: prints reach a piped stdout, atexit handlers run at
// the process's end (bounded), children started by Python inherit stdio, multiprocessing and
// joblib's loky work. Each case is a whole Node process, with stdout a pipe (as under Docker,
// systemd or Kubernetes) and PYTHONUNBUFFERED unset (as on users' machines; this machine sets
// it, which hides lost prints).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { PACKAGE_ENTRY, PROBE_DIR, runNode } from '../helpers.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-real-python-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const PRELUDE = `
  const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
  const fn = (name) => new lib.Outliers('real_python', name, { paths: [${JSON.stringify(PROBE_DIR)}] });
  const one = new Float64Array(1);`;

async function run(body: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv['PYTHONUNBUFFERED'];
  const started = Date.now();
  const result = await runNode(`${PRELUDE}\n${body}`, { env: childEnv, timeoutMs });
  return { ...result, ms: Date.now() - started };
}

function atexitFile(): string {
  return path.join(fs.mkdtempSync(path.join(scratch, 'atexit-')), 'ran.txt');
}

describe('print() output reaches a piped stdout', () => {
  for (const [how, ending] of [
    ['a normal exit', ''],
    ['process.exit()', 'process.exit(0);'],
  ] as const) {
    it(`with ${how}`, async () => {
      const r = await run(
        `fn('prints').detect(one); fn('prints_to_stderr').detect(one); ${ending}`,
      );
      expect(r.status).toBe(0);
      // Line-buffered: the line is out at once; the unterminated rest at exit.
      expect(r.stdout).toBe('print from python\nprint without newline');
      expect(r.stderr).toBe('stderr from python\n');
    });
  }

  it('with async calls in flight at process.exit(): what ran printed, what was queued never ran', async () => {
    // One Python thread, so that the third call is queued behind the second.
    const r = await run(
      `
      const f = fn('prints_then_sleeps');
      f.detectAsync(new Float64Array([1, 0]));
      f.detectAsync(new Float64Array([2, 1])); // still running at exit: the exit work waits for it
      f.detectAsync(new Float64Array([3, 0])); // queued behind it: dropped
      setTimeout(() => process.exit(0), 300);`,
      { PY_OUTLIERS_THREADS: '1' },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('async print 1\nasync print 2\n');
  });

  it('with calls running on two Python threads at process.exit(): both finish and print', async () => {
    const r = await run(
      `
      const f = fn('prints_then_sleeps');
      f.detectAsync(new Float64Array([1, 1]));
      f.detectAsync(new Float64Array([2, 1])); // on the second thread, 5 ms later
      setTimeout(() => process.exit(0), 300);`,
      { PY_OUTLIERS_THREADS: '2' },
    );
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').sort()).toEqual(['', 'async print 1', 'async print 2']);
  });
});

describe('atexit handlers run once, at the process end', () => {
  for (const [how, ending, status] of [
    ['a normal exit', '', 0],
    ['process.exit(3)', 'process.exit(3);', 3],
    ['an uncaught exception', 'throw new Error("boom");', 1],
  ] as const) {
    it(`on ${how}`, async () => {
      const file = atexitFile();
      const r = await run(`fn('atexit_writes_file').detect(one); ${ending}`, { ATEXIT_FILE: file });
      expect(r.status).toBe(status);
      expect(fs.readFileSync(file, 'utf8')).toBe('ran\n');
    });
  }

  it("not at a Worker's end: the interpreter belongs to the process", async () => {
    const file = atexitFile();
    const r = await run(
      `const { Worker } = require('node:worker_threads');
       const w = new Worker(${JSON.stringify(PRELUDE)} + "fn('atexit_writes_file').detect(one);", { eval: true });
       w.on('exit', (code) => console.log('worker exit', code, require('fs').existsSync(process.env.ATEXIT_FILE)));`,
      { ATEXIT_FILE: file },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('worker exit 0 false\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('ran\n'); // at the process's end, once
  });

  // The bound (PY_OUTLIERS_EXIT_TIMEOUT_MS, 1 s here) is what ends these; without it they would
  // never exit and runNode's 60 s timeout would kill them. 20 s leaves room for a slow machine.
  it('a handler that hangs does not hang the exit', async () => {
    const r = await run(`fn('atexit_hangs').detect(one);`, { PY_OUTLIERS_EXIT_TIMEOUT_MS: '1000' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('registered a hanging handler\n');
    expect(r.ms).toBeLessThan(20_000);
  });

  it('a Python call that never returns does not hang process.exit()', async () => {
    const r = await run(`fn('spins').detectAsync(one); setTimeout(() => process.exit(5), 200);`, {
      PY_OUTLIERS_EXIT_TIMEOUT_MS: '1000',
    });
    expect(r.status).toBe(5);
    expect(r.ms).toBeLessThan(20_000);
  });
});

describe('children started by Python', () => {
  it('subprocess.run inherits stdout and stderr', async () => {
    const r = await run(`fn('subprocess_inherits_stdio').detect(one);`);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hi from subprocess.run\n');
    expect(r.stderr).toBe('err from subprocess.run\n');
  });

  it('os.system inherits stdout', async () => {
    const r = await run(`fn('os_system').detect(one);`);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hi from os.system\n');
  });

  it('multiprocessing pools work with spawn, forkserver and fork', async () => {
    const r = await run(`fn('multiprocessing_pools').detect(one);`);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('spawn [1, 2, 3]\nforkserver [1, 2, 3]\nfork [1, 2, 3]\n');
  });

  it("joblib's loky backend works and leaves nothing in /dev/shm or its resource tracker", async () => {
    const r = await run(`fn('joblib_loky').detect(one); console.log('pid', process.pid);`);
    expect(r.stderr).toBe(''); // loky's tracker warns here of leaked semaphores or folders
    expect(r.status).toBe(0);
    const [result, pidLine] = r.stdout.trim().split('\n');
    expect(result).toBe('loky True');
    const pid = pidLine!.split(' ')[1]!;
    expect(fs.readdirSync('/dev/shm').filter((name) => name.includes(pid))).toEqual([]);
  });
});

describe("Node's own child_process is unchanged", () => {
  it('spawn with each stdio setting gives the child the same fds before and after Python started', async () => {
    const report = path.join(scratch, 'fds.txt');
    const r = await run(`
      const { spawnSync } = require('node:child_process');
      const fs = require('node:fs');
      const script = 'for fd in 0 1 2; do readlink /proc/$$/fd/$fd || echo closed; ' +
        'grep flags /proc/$$/fdinfo/$fd; done > "$1"';
      const fds = (stdio) => {
        const child = spawnSync('sh', ['-c', script, 'sh', ${JSON.stringify(report)}], { stdio });
        if (child.status !== 0) throw new Error('sh failed with ' + stdio);
        return fs.readFileSync(${JSON.stringify(report)}, 'utf8').replace(/:\\[\\d+\\]/g, '');
      };
      const modes = ['inherit', 'pipe', 'ignore'];
      const before = modes.map(fds);
      fn('prints_to_stderr').detect(one); // Python starts
      const after = modes.map(fds);
      const flags = [0, 1, 2].map((fd) =>
        Number.parseInt(/flags:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'))[1], 8));
      console.log(JSON.stringify({ before, after, cloexec: flags.map((f) => (f & 0o2000000) !== 0) }));`);
    expect(r.status).toBe(0);
    const { before, after, cloexec } = JSON.parse(r.stdout) as {
      before: string[];
      after: string[];
      cloexec: boolean[];
    };
    expect(after).toEqual(before);
    for (const fds of after) expect(fds).not.toContain('closed');
    // In this process, 0-2 are now inheritable, as in `python`: what lets Python's children see them.
    expect(cloexec).toEqual([false, false, false]);
  });
});
