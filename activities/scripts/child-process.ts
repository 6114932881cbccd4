import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Kept of a script's output for its log; the rest is cut (the log says so). */
export const SCRIPT_LOG_LIMIT_BYTES = 4 * 1024 * 1024;

export interface ChildCommand {
  command: string;
  args: string[];
  /** A fresh folder of the script's own. */
  cwd: string;
  timeoutMs: number;
  /** Address-space limit (prlimit --as): for bash and python3; node limits its heap by flag instead. */
  addressSpaceBytes?: number;
  /** Extra variables (Windmill's WM_*); nothing of the worker's environment passes but PATH. */
  env?: Record<string, string>;
}

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** stdout and stderr as they came, interleaved. */
  log: string;
  stdout: string;
}

const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/**
 * Runs one command in its own process group, with a scrubbed environment (no store secrets: the
 * worker's variables do not pass), killed with its children when the time is up.
 */
export function runChild(cmd: ChildCommand): Promise<ChildOutcome> {
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: cmd.cwd, TMPDIR: cmd.cwd, LANG: 'C.UTF-8', ...cmd.env };
  const limited =
    cmd.addressSpaceBytes !== undefined && PRLIMIT
      ? { command: PRLIMIT, args: [`--as=${cmd.addressSpaceBytes}`, `--fsize=${256 * 1024 * 1024}`, '--', cmd.command, ...cmd.args] }
      : { command: cmd.command, args: cmd.args };
  return new Promise((resolve, reject) => {
    const child = spawn(limited.command, limited.args, { cwd: cmd.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: Buffer[] = [];
    const out: Buffer[] = [];
    let logged = 0;
    let cut = false;
    let stdoutBytes = 0;
    const keep = (stdout: boolean) => (chunk: Buffer) => {
      if (stdout && stdoutBytes < SCRIPT_LOG_LIMIT_BYTES) {
        out.push(chunk);
        stdoutBytes += chunk.length;
      }
      if (logged >= SCRIPT_LOG_LIMIT_BYTES) {
        cut = true;
        return;
      }
      log.push(chunk.subarray(0, SCRIPT_LOG_LIMIT_BYTES - logged));
      logged += chunk.length;
    };
    child.stdout.on('data', keep(true));
    child.stderr.on('data', keep(false));
    let timedOut = false;
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the whole group: a script's own children die with it
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, cmd.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      kill(); // anything the script left running in the background
      const text = Buffer.concat(log).toString('utf8') + (cut ? `\n[log cut at ${SCRIPT_LOG_LIMIT_BYTES} bytes]\n` : '');
      resolve({ code, signal, timedOut, log: text, stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}
