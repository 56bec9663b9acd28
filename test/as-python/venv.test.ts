// The embedded interpreter behaves as the build's interpreter (the project's venv, a
// distribution's python3, a --system-site-packages venv...): whatever that interpreter reports
// about itself when run on its own, the embedded one reports too.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildInfo, runtimeInfo } from '../../src/index.js';
import { BUILD_PYTHON, PROBE_DIR, ROOT, probe, reportOf } from '../helpers.js';

/** The build interpreter's own account of itself, from a separate process. */
function standalone(): Record<string, string> {
  const run = spawnSync(
    BUILD_PYTHON,
    [
      '-c',
      'import json, os, platform, sys, numpy\n' +
        'print(json.dumps({"executable": sys.executable, "prefix": sys.prefix,\n' +
        '  "basePrefix": sys.base_prefix, "pythonVersion": platform.python_version(),\n' +
        '  "numpyVersion": numpy.__version__, "numpyPath": os.path.dirname(numpy.__file__)}))',
    ],
    { encoding: 'utf8' },
  );
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as Record<string, string>;
}

describe('the Python environment', () => {
  const info = runtimeInfo();
  const build = buildInfo();

  it('runs as the interpreter recorded at build time, not as node', () => {
    expect(path.isAbsolute(build.executable)).toBe(true);
    expect(info.executable).toBe(build.executable);
    expect(info.buildExecutable).toBe(build.executable);
    expect(info.buildPythonVersion).toBe(build.pythonVersion);
    expect(info.pythonVersion.startsWith(`${build.pythonVersion}.`)).toBe(true);
  });

  it('sees what that interpreter sees on its own: prefix, venv, the same numpy', () => {
    const own = standalone();
    for (const key of [
      'executable',
      'prefix',
      'basePrefix',
      'pythonVersion',
      'numpyVersion',
      'numpyPath',
    ] as const) {
      expect(info[key], key).toBe(own[key]);
    }
  });

  it('was compiled against the numpy it runs with', () => {
    expect(info.buildNumpyVersion).toBe(info.numpyVersion);
  });

  // Other cells of the CI matrix build against other environments, where this is skipped.
  it.runIf(build.executable === path.join(ROOT, '.venv', 'bin', 'python'))(
    'uses the pinned numpy when the build environment is the default venv',
    () => {
      const pinned = /numpy==([\d.]+)/.exec(
        fs.readFileSync(path.join(ROOT, 'python', 'requirements.txt'), 'utf8'),
      )?.[1];
      expect(info.numpyVersion).toBe(pinned);
      expect(info.prefix).toBe(path.join(ROOT, '.venv'));
    },
  );

  it('loads a shared libpython and says whether malloc tuning is on', () => {
    expect(info.libpython).toMatch(/libpython3\.\d+\.so/);
    expect(typeof info.mallocTuning).toBe('boolean');
  });

  it('imports packages installed only in the build environment', () => {
    expect(Array.from(probe('uses_grpc').detect(new Float64Array(1)))).toEqual([0]);
  });

  it('puts options.paths first on sys.path, then the package python/ folder', () => {
    const facts = reportOf(() => probe('report_sys').detect(new Float64Array(1)));
    const sysPath = facts['path'] as string[];
    expect(sysPath[0]).toBe(PROBE_DIR);
    expect(sysPath[1]).toBe(path.join(ROOT, 'python'));
    expect(facts['executable']).toBe(info.executable);
    // No current-directory entry: an embedded interpreter must not import from the cwd.
    expect(sysPath).not.toContain('');
  });

  it('buildInfo() is readable without starting Python, in a fresh process', () => {
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        `const l = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
        const threads = () => require('fs').readdirSync('/proc/self/task').length;
        const b = l.buildInfo();
        const before = threads();
        l.runtimeInfo();  // starts Python, on a thread of its own
        console.log(JSON.stringify(b), Object.isFrozen(b), threads() - before);`,
      ],
      { encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    const [json, frozen, newThreads] = run.stdout.trim().split(' ');
    expect(JSON.parse(json!)).toEqual(build);
    expect(frozen).toBe('true');
    // Python's thread (and numpy's BLAS pool) did not exist before runtimeInfo().
    expect(Number(newThreads)).toBeGreaterThanOrEqual(1);
  });
});
