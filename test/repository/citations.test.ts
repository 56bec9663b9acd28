// The repository's comments and documents cite only what the repository has: every path a
// comment or page names exists, every docs section a comment cites is a heading of that page,
// and nothing points outside the repository. A rename that leaves a stale cite fails here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers.js';

const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)
  // Generated, or history (the CHANGELOG names files as they were then).
  .filter((f) => !f.startsWith('bench/results/') && f !== 'CHANGELOG.md')
  .filter((f) =>
    /\.(h|cc|c|ts|mts|js|mjs|cjs|py|md|gyp|json|toml|txt|proto)$|Makefile|run$/.test(f),
  )
  .filter((f) => f !== 'package-lock.json');
const text = new Map(tracked.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));

/** What `make` writes (gitignored): named by the files that write or read it. */
const GENERATED = ['bench/results/', 'build/', 'dist/', 'python/generated/'];

const CITED_PATH =
  /(?<![\w./-])((?:native|src|scripts|python|bench|test|docs|examples)\/[\w./-]*\.(?:h|cc|c|ts|mts|js|mjs|cjs|py|md|proto|txt|json|supp))(?![\w])/g;

describe('citations', () => {
  it('every path a file names exists', () => {
    const missing: string[] = [];
    for (const [file, body] of text) {
      for (const [, cited] of body.matchAll(CITED_PATH)) {
        const target = cited!.replace(/\.$/, '');
        if (GENERATED.some((dir) => target.startsWith(dir))) continue;
        const here = path.join(ROOT, path.dirname(file), target);
        if (!fs.existsSync(path.join(ROOT, target)) && !fs.existsSync(here)) {
          missing.push(`${file}: ${target}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("every file a native comment names by itself is one of native/'s", () => {
    const names = new Set(
      tracked.filter((f) => f.startsWith('native/')).map((f) => path.basename(f)),
    );
    const missing: string[] = [];
    for (const [file, body] of text) {
      if (!file.startsWith('native/')) continue;
      // "python_threads.h" in a comment or an include; <system.h> includes are not ours.
      for (const [, name] of body.matchAll(/(?<![\w./<-])([a-z_]+\.(?:h|cc|c))(?![\w>])/g)) {
        if (!names.has(name!) && name !== '_numpyconfig.h') missing.push(`${file}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every docs section a file cites is a heading of that page', () => {
    const missing: string[] = [];
    for (const [file, body] of text) {
      // Comments wrap: join the lines, without their comment markers.
      const joined = body.replace(/\n\s*(?:\/\/+|#+|\*)?\s*/g, ' ');
      for (const [, page, section] of joined.matchAll(/(docs\/[\w-]+\.md), "([^"]+)"/g)) {
        const doc = text.get(page!);
        const heading = new RegExp(`^#+ ${section!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
        if (doc === undefined || !heading.test(doc)) missing.push(`${file}: ${page}, "${section}"`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('nothing points outside the repository, or at a list it does not have', () => {
    const found: string[] = [];
    for (const [file, body] of text) {
      if (file === 'test/repository/citations.test.ts') continue; // names them, to find them
      for (const [match] of body.matchAll(/\.\.\/shared|\bItem \d+\b|SharedPyObject/g)) {
        found.push(`${file}: ${match}`);
      }
    }
    expect(found).toEqual([]);
  });
});
