// A provider fake in a child process of its own (so its in-memory book never counts in the
// benchmark's RSS), spoken to over IPC: send the spec, await its ready message, ask for
// request stats, close it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface FakeProcess<Ready, Stats> {
  ready: Ready;
  stats(): Promise<Stats>;
  close(): Promise<void>;
}

export async function startFakeProcess<Ready, Stats>(file: URL, label: string, spec: unknown): Promise<FakeProcess<Ready, Stats>> {
  const child: ChildProcess = fork(fileURLToPath(file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>() => new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`fake ${label} process exited (${code})`)));
  });
  const ready = next<Ready>();
  child.send(spec as object);
  return {
    ready: await ready,
    stats: async () => {
      const p = next<Stats>();
      child.send({ stats: true });
      return p;
    },
    close: async () => {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.send({ close: true });
      await gone;
    },
  };
}
