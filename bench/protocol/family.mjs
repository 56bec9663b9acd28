// The parent side of the measuring protocol: a long-lived measuring process (child.mjs or
// plain_python.py) answers one JSON line per request (measure.mjs's serveRequests), and the
// progress line every suite prints.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---- progress -------------------------------------------------------------------------------
const started = Date.now();
let cells = 0;
export function showProgress(text) {
  cells++;
  const line = `[${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] #${cells} ${text}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
  else process.stderr.write(`${line}\n`);
}

/** A long-lived measuring process (child.mjs or plain_python.py): JSON lines in and out. */
export class Family {
  constructor(name, command, args, env = {}) {
    this.name = name;
    this.pending = [];
    this.stderr = '';
    this.child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stderr
      .setEncoding('utf8')
      .on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.child.on('error', (error) =>
      this.pending.splice(0).forEach(({ reject }) => reject(error)),
    );
    this.child.once('exit', (code) =>
      this.pending
        .splice(0)
        .forEach(({ reject }) =>
          reject(new Error(`${name} exited with code ${code}:\n${this.stderr}`)),
        ),
    );
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line);
      const { resolve, reject } = this.pending.shift();
      if (answer.ok) resolve(answer);
      else reject(new Error(`${name}: ${answer.error}`));
    });
  }

  request(message) {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  async close() {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Every thread of a process started through it on one CPU (the rows labelled ONE_CPU). */
export const ONE_CPU_PREFIX = ['taskset', '-c', '0'];

/** A measuring process (node `args`: child.mjs and its family), started through `prefix` if any. */
export function childFamily(name, prefix, args, env) {
  const [command, ...rest] = [...prefix, process.execPath, ...args];
  return new Family(name, command, rest, env);
}

/** An in-process measuring process (child.mjs inproc), started through `prefix` if any. */
export function inprocFamily(name, child, prefix, env) {
  return childFamily(name, prefix, [child, 'inproc'], env);
}
