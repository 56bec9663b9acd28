// The embedded interpreter behaves as the build's interpreter: here, the project's venv.
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runtimeInfo } from '../src/index.js';
import { PROBE_DIR, ROOT, probe, reportOf } from './helpers.js';

describe('the Python environment', () => {
  const info = runtimeInfo();

  it('reports the venv as sys.executable and sys.prefix, not node', () => {
    expect(info.executable).toBe(path.join(ROOT, '.venv', 'bin', 'python'));
    expect(info.prefix).toBe(path.join(ROOT, '.venv'));
    expect(info.basePrefix).not.toBe(info.prefix);
    expect(info.pythonVersion).toMatch(/^3\.\d+\.\d+$/);
    expect(info.pythonVersion.startsWith(`${info.buildPythonVersion}.`)).toBe(true);
  });

  it('uses the pinned numpy from the venv', () => {
    const pinned = /numpy==([\d.]+)/.exec(
      fs.readFileSync(path.join(ROOT, 'python', 'requirements.txt'), 'utf8'),
    )?.[1];
    expect(info.numpyVersion).toBe(pinned);
    expect(info.numpyPath.startsWith(path.join(ROOT, '.venv'))).toBe(true);
  });

  it('loads a shared libpython and says whether malloc tuning is on', () => {
    expect(info.libpython).toMatch(/libpython3\.\d+\.so/);
    expect(typeof info.mallocTuning).toBe('boolean');
  });

  it('imports packages installed only in the venv', () => {
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
});
