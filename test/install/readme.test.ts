// The README's quick start, as a new user types it in: the TypeScript block compiled as it is
// under strict settings (ESM, nodenext, skipLibCheck off) and run, and the CommonJS block run,
// against this package. So the README cannot drift from the API. test/install/prebuilt.test.ts runs
// the same blocks from the packed tarball with no compiler on Node 24 and 26.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers.js';
import { QUICK_START_CJS, QUICK_START_PRINTS, QUICK_START_TS, readmeBlock } from './readme.js';
import { spawnAsync } from '../spawn.js';

let project = '';

describe('the README quick start', () => {
  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-readme-'));
    const modules = path.join(project, 'node_modules');
    fs.mkdirSync(path.join(modules, '@types'), { recursive: true });
    fs.symlinkSync(ROOT, path.join(modules, 'py-outliers'));
    fs.symlinkSync(
      path.join(ROOT, 'node_modules', '@types', 'node'),
      path.join(modules, '@types', 'node'),
    );
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'quick-start', private: true, type: 'module' }),
    );
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    fs.writeFileSync(path.join(project, 'main.ts'), readmeBlock(QUICK_START_TS));
    fs.writeFileSync(path.join(project, 'main.cjs'), readmeBlock(QUICK_START_CJS));
  });
  afterAll(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('the TypeScript block compiles under strict settings and runs as printed', async () => {
    const tsc = await spawnAsync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
      { cwd: project },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const ran = await spawnAsync(process.execPath, ['out/main.js'], { cwd: project });
    expect(ran.stderr).toBe('');
    expect(ran.status).toBe(0);
    expect(ran.stdout).toMatch(QUICK_START_PRINTS);
    expect(ran.stdout).toMatch(/^100 1\.414213538/m);
  }, 120_000);

  it.runIf(Number(process.versions.node.split('.')[0]) >= 24)(
    'runs as it is with Node 24 and later (node main.ts)',
    async () => {
      const ran = await spawnAsync(process.execPath, ['--no-warnings', 'main.ts'], {
        cwd: project,
      });
      expect(ran.stderr).toBe('');
      expect(ran.stdout).toMatch(QUICK_START_PRINTS);
    },
    60_000,
  );

  it('the CommonJS block runs as printed', async () => {
    const ran = await spawnAsync(process.execPath, ['main.cjs'], { cwd: project });
    expect(ran.stderr).toBe('');
    expect(ran.status).toBe(0);
    expect(ran.stdout.match(new RegExp(QUICK_START_PRINTS, 'g'))).toHaveLength(2);
  }, 60_000);
});
