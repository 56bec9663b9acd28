// Which libpython a prebuilt binary loads (src/prebuilt.ts, libpythonOf), for each layout users'
// interpreters come in, as the interpreter's probe reports it. Loading it is tested end to end
// in test/install/prebuilt.test.ts; these layouts (a moved installation above all) cannot all be made on
// one machine, so here each is a folder with the files that layout has.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { PythonStartError } from '../../src/errors.js';
import type { Probed } from '../../src/interpreter.js';
import { libpythonOf } from '../../src/prebuilt.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-libpython-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A folder `name` holding empty files at `files` (relative paths); its path. */
function layout(name: string, files: string[]): string {
  const root = path.join(scratch, name);
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), '');
  }
  return root;
}

/** What sysconfig says of a CPython 3.11 built with --enable-shared. */
const SHARED_311 = {
  executable: '/some/bin/python3.11',
  version: '3.11',
  ldlibrary: 'libpython3.11.so',
  soname: 'libpython3.11.so.1.0',
  shared: true,
} as const;

describe('the libpython a prebuilt binary loads', () => {
  it('pyenv and the official python images: the soname in LIBDIR', () => {
    const prefix = layout('pyenv', ['lib/libpython3.11.so', 'lib/libpython3.11.so.1.0']);
    const probed: Probed = { ...SHARED_311, libdir: `${prefix}/lib`, basePrefix: prefix };
    expect(libpythonOf(probed)).toBe(`${prefix}/lib/libpython3.11.so.1.0`);
  });

  it("Debian's libpython3.11 without the -dev package: the soname, in the multiarch LIBDIR", () => {
    const libdir = path.join(
      layout('debian', ['lib/x86_64-linux-gnu/libpython3.11.so.1.0']),
      'lib',
      'x86_64-linux-gnu',
    );
    const probed: Probed = { ...SHARED_311, libdir, basePrefix: path.join(scratch, 'debian') };
    expect(libpythonOf(probed)).toBe(`${libdir}/libpython3.11.so.1.0`);
  });

  it("a moved installation (python-build-standalone, as uv installs it): LIBDIR is the build machine's, the library is under sys.base_prefix", () => {
    const prefix = layout('moved', ['lib/libpython3.11.so.1.0']);
    const probed: Probed = { ...SHARED_311, libdir: '/install/lib', basePrefix: prefix };
    expect(libpythonOf(probed)).toBe(`${prefix}/lib/libpython3.11.so.1.0`);
  });

  it("a shared build whose library is in neither place: the dynamic linker's own search", () => {
    const probed: Probed = {
      ...SHARED_311,
      libdir: path.join(scratch, 'nowhere', 'lib'),
      basePrefix: path.join(scratch, 'nowhere'),
    };
    expect(libpythonOf(probed)).toBe('libpython3.11.so.1.0');
  });

  it('a static build: a PythonStartError that says how to get a shared libpython', () => {
    const prefix = layout('static', ['lib/libpython3.11.a']);
    const probed: Probed = {
      ...SHARED_311,
      ldlibrary: 'libpython3.11.a',
      soname: '',
      shared: false,
      libdir: `${prefix}/lib`,
      basePrefix: prefix,
    };
    let error: unknown;
    try {
      libpythonOf(probed);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PythonStartError);
    expect((error as PythonStartError).code).toBe('ERR_PY_OUTLIERS_PYTHON_START');
    expect((error as Error).message).toContain('has no shared libpython');
    expect((error as Error).message).toContain('apt-get install libpython3.11');
    expect((error as Error).message).toContain(
      'PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.11',
    );
  });
});
