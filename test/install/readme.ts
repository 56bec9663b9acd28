// The README's quick start blocks, for the tests that compile and run them
// (test/install/readme.test.ts here, test/install/prebuilt.test.ts from the packed tarball).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The code block right after `marker` in the README. */
export function readmeBlock(marker: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no "${marker}"`);
  const block = /```(?:ts|js)\n([\s\S]*?)```/.exec(readme.slice(at));
  if (block === null) throw new Error(`no code block after "${marker}"`);
  return block[1]!;
}

export const QUICK_START_TS = '<!-- quick start: ';
export const QUICK_START_CJS = '<!-- quick start, CommonJS: ';

/** What the quick start prints, whichever form. */
export const QUICK_START_PRINTS = /Int32Array\(3\) \[ 7, 113, 835 \]/;
