// The import graph of core/ between its top-level folders: a cycle (a → b → … → a) fails
// the test. Value imports only (`import type` is erased and creates no runtime edge).
// There are none left; any cycle fails, and the message names an import on each edge.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../core/paths.ts';

const CORE = path.join(repoRoot, 'core');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const folderOf = (file: string) => {
  const rel = path.relative(CORE, file).split(path.sep);
  return rel.length > 1 ? rel[0]! : '(core)';
};

/** folder → folder → one example "file → import" that makes the edge */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  const importRe = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm;
  for (const file of sourceFiles(CORE)) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(importRe)) {
      if (m[2]) continue; // import type
      const target = path.resolve(path.dirname(file), m[3] ?? m[4]!);
      if (!target.startsWith(CORE + path.sep)) continue;
      const [a, b] = [folderOf(file), folderOf(target)];
      if (a === b) continue;
      if (!graph.has(a)) graph.set(a, new Map());
      if (!graph.get(a)!.has(b)) graph.get(a)!.set(b, `${path.relative(repoRoot, file)} → ${m[3] ?? m[4]}`);
    }
  }
  return graph;
}

/** Folders on some cycle (Tarjan's strongly connected components of size > 1). */
function foldersOnCycles(graph: Map<string, Map<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('core/ import graph', () => {
  it('has no folder cycles', () => {
    const graph = folderGraph();
    const cycles = foldersOnCycles(graph);
    const explain = cycles.map((scc) => scc.flatMap((a) => scc.filter((b) => graph.get(a)?.has(b)).map((b) => `  ${a} → ${b}: ${graph.get(a)!.get(b)}`)).join('\n')).join('\n\n');
    expect(cycles.flat(), `folder cycle(s) in core/:\n${explain}`).toEqual([]);
  });

  it('keeps jobs/, events/, inbound/ and the composition root out of every cycle', () => {
    const onCycles = foldersOnCycles(folderGraph()).flat();
    for (const f of ['jobs', 'events', 'inbound', 'alerts', 'app', 'models', 'db']) expect(onCycles).not.toContain(f);
  });
});
