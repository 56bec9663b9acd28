// The package as a user installs it: npm pack, then npm install of the tarball in a scratch
// project. The install step builds the addon from source; nothing but the registry is used.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BUILD_PYTHON, ROOT } from './helpers.js';

let scratch = '';
const env = { ...process.env, PY_OUTLIERS_PYTHON: BUILD_PYTHON, npm_config_audit: 'false' };

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: scratch, env, encoding: 'utf8' });
}

describe('installed from its npm pack tarball', () => {
  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-install-'));
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', scratch], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    }).trim();
    fs.writeFileSync(
      path.join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }),
    );
    execFileSync(
      'npm',
      ['install', '--no-fund', '--prefer-offline', path.join(scratch, packed.split('\n').pop()!)],
      { cwd: scratch, env, stdio: 'pipe' },
    );
  }, 300_000);

  afterAll(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('ships the built JS, the types, the sources to build, and no build output', () => {
    const installed = path.join(scratch, 'node_modules', 'py-outliers');
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/esm.mjs',
      'binding.gyp',
      'native/addon.cc',
      'python/outliers.py',
      'python/py_outliers_runtime.py',
    ]) {
      expect(fs.existsSync(path.join(installed, file)), file).toBe(true);
    }
    expect(fs.existsSync(path.join(installed, 'build', 'Release', 'py_outliers.node'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'test'))).toBe(false);
  });

  it('can be imported (ESM) and detect', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { Outliers } from 'py-outliers';
       console.log(new Outliers().detect(new Float64Array([1,1,1,1,1,1,1,1,1,1,1,60])).join());`,
    ]);
    expect(out).toBe('11\n');
  });

  it('can be required (CommonJS) and detect', () => {
    const out = node([
      '-e',
      `const { Outliers, runtimeInfo } = require('py-outliers');
       console.log(new Outliers().detect(new Float64Array([1,1,1,1,1,1,1,1,1,1,1,60])).join());
       console.log(runtimeInfo().executable);`,
    ]);
    expect(out).toBe(`11\n${BUILD_PYTHON}\n`);
  });

  it('type-checks for a TypeScript user', () => {
    fs.writeFileSync(
      path.join(scratch, 'use.ts'),
      `import { Outliers, PythonError, type RuntimeInfo } from 'py-outliers';
       const o: Outliers = new Outliers('outliers', 'detect', { paths: ['/tmp'] });
       const r: Int32Array = o.detect(new Float64Array(3));
       const p: Promise<Int32Array> = o.detectAsync(new Float64Array(3));
       const t: string = new PythonError('m', 'ValueError', 'tb').traceback;
       export { r, p, t, type RuntimeInfo };`,
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const [module, resolution] of [
      ['nodenext', 'nodenext'],
      ['commonjs', 'node10'],
    ]) {
      node([
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--types',
        'node',
        '--typeRoots',
        path.join(ROOT, 'node_modules', '@types'),
        '--module',
        module!,
        '--moduleResolution',
        resolution!,
        'use.ts',
      ]);
    }
  });
});
