// The package as a user installs it: npm pack, then npm install of the tarball in a scratch
// project. The install step builds the addon from source (PY_OUTLIERS_BUILD_FROM_SOURCE: also
// where `make prebuilds` has put prebuilt binaries in the package; test/install/prebuilt.test.ts tests
// those); nothing but the registry is used.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BUILD_PYTHON, ROOT } from '../helpers.js';
import { spawnOutput } from '../spawn.js';

let scratch = '';
const env = {
  ...process.env,
  PY_OUTLIERS_PYTHON: BUILD_PYTHON,
  PY_OUTLIERS_BUILD_FROM_SOURCE: '1',
  npm_config_audit: 'false',
};

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: scratch, env, encoding: 'utf8' });
}

describe('installed from its npm pack tarball', () => {
  // Asynchronous (test/spawn.ts): the install compiles the addon, a minute or more on a busy
  // machine.
  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-install-'));
    const packed = (
      await spawnOutput('npm', ['pack', '--silent', '--pack-destination', scratch], {
        cwd: ROOT,
        env,
      })
    ).trim();
    const tarball = path.join(scratch, packed.split('\n').pop()!);
    // The install script allowed, as `npm install-scripts approve py-outliers` does (npm 11
    // skips dependencies' install scripts otherwise).
    fs.writeFileSync(
      path.join(scratch, 'package.json'),
      JSON.stringify({
        name: 'scratch',
        version: '1.0.0',
        private: true,
        allowScripts: { [`file:${tarball}`]: true },
      }),
    );
    await spawnOutput('npm', ['install', '--no-fund', '--prefer-offline', tarball], {
      cwd: scratch,
      env,
    });
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
      'native/addon/addon.cc',
      'scripts/install.js',
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

  it('ESM and CommonJS export the same names', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import * as esm from 'py-outliers';
       import { createRequire } from 'node:module';
       const cjs = createRequire(process.cwd() + '/')('py-outliers');
       console.log(JSON.stringify([Object.keys(esm).sort(), Object.keys(cjs).filter((k) => k !== '__esModule').sort()]));`,
    ]);
    const [esm, cjs] = JSON.parse(out) as [string[], string[]];
    expect(cjs).toContain('PythonFunction');
    expect(esm).toEqual(cjs);
  });

  it("runs the README's quick start, in TypeScript with \`using\`", () => {
    fs.writeFileSync(
      path.join(scratch, 'quickstart.ts'),
      `import { Outliers, PythonFunction, ndarray, type AsyncDetector } from 'py-outliers';
       async function main(): Promise<void> {
         const values = new Float64Array(1000).fill(1);
         values[7] = 97;
         using o = new Outliers();
         const idx: Int32Array = o.detect(values);
         const detector: AsyncDetector = o;
         const later = await detector.detectAsync(values, { signal: AbortSignal.timeout(10_000) });
         using norm = new PythonFunction('numpy', 'linalg.norm');
         const norms = await norm.callAsync<Float32Array>([ndarray(new Float32Array(6).fill(2), [2, 3])], { axis: 1 });
         using median = new PythonFunction('numpy', 'median');
         console.log(idx.join(), later.join(), Array.from(norms, (n) => n.toFixed(3)).join(), median.call([values]));
       }
       main();`,
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    node([
      tsc,
      '--strict',
      '--skipLibCheck',
      '--target',
      'es2022',
      '--lib',
      'es2022,esnext.disposable,dom',
      '--types',
      'node',
      '--typeRoots',
      path.join(ROOT, 'node_modules', '@types'),
      '--module',
      'commonjs',
      'quickstart.ts',
    ]);
    expect(node(['quickstart.js'])).toBe('7 7 3.464,3.464 1\n');
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
