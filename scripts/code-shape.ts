// The numbers issue 14 ("code shape") is judged by, measured the same way before and after
// a refactor: files and lines under src/, the largest file and function, casts in src/cli/,
// and import cycles. A cycle is a strongly connected group of files in the graph of relative
// imports; value imports (which Node loads, in an order a cycle makes fragile) are counted
// apart from all imports, type-only ones included (which still tie two concepts together).
// Usage: npx tsx scripts/code-shape.ts [--json] [ROOT]   (ROOT defaults to src/ of this checkout)
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

interface FileShape {
  path: string;
  lines: number;
  /** Relative imports resolved to files under the root, split by whether Node loads them. */
  valueImports: string[];
  typeImports: string[];
  casts: number;
  functions: { name: string; lines: number }[];
}

export interface CodeShape {
  files: number;
  lines: number;
  largestFile: { path: string; lines: number };
  largestFunction: { path: string; name: string; lines: number };
  castsInCli: number;
  /** Groups of files that import each other through value imports (each a cycle at load time). */
  valueCycles: string[][];
  /** The same, counting type-only imports too. */
  allCycles: string[][];
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return listTs(p);
    return d.name.endsWith(".ts") && !d.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** `./x.js` in an import names the source `./x.ts` (NodeNext resolution). */
function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return resolve(dirname(from), spec).replace(/\.js$/, ".ts");
}

/** True when nothing of the import survives compilation (`import type`, or every name marked `type`). */
function typeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) return node.isTypeOnly;
  const clause = node.importClause;
  if (!clause) return false; // a side-effect import
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

function functionName(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  // An arrow or function expression is named by what it is assigned to.
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)))
    return parent.name.getText(sf);
  return "(anonymous)";
}

function shapeOf(path: string, root: string): FileShape {
  const text = readFileSync(path, "utf8");
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  const shape: FileShape = {
    path: relative(root, path),
    lines: text.split("\n").length - (text.endsWith("\n") ? 1 : 0),
    valueImports: [],
    typeImports: [],
    casts: 0,
    functions: [],
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const target = resolveImport(path, (node.moduleSpecifier as ts.StringLiteral).text);
      if (target) (typeOnly(node) ? shape.typeImports : shape.valueImports).push(relative(root, target));
    }
    // `x as T` and `<T>x`, but not `as const`, which asserts nothing about a type.
    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) {
      const t = node.type;
      const isConst = ts.isTypeReferenceNode(t) && t.typeName.getText(sf) === "const";
      if (!isConst) shape.casts++;
    }
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      shape.functions.push({ name: functionName(node, sf), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return shape;
}

/** Tarjan's strongly connected components; only groups of two or more files (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    for (;;) {
      const w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
      if (w === v) break;
    }
    if (group.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(group.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return out.sort((a, b) => b.length - a.length || a[0]!.localeCompare(b[0]!));
}

export function measure(root: string): CodeShape {
  const shapes = listTs(root)
    .sort()
    .map((p) => shapeOf(p, root));
  const values = new Map(shapes.map((s) => [s.path, s.valueImports]));
  const all = new Map(shapes.map((s) => [s.path, [...s.valueImports, ...s.typeImports]]));
  const largestFile = shapes.reduce((a, b) => (b.lines > a.lines ? b : a), { path: "", lines: 0 });
  const largestFunction = shapes
    .flatMap((s) => s.functions.map((f) => ({ path: s.path, ...f })))
    .reduce((a, b) => (b.lines > a.lines ? b : a), { path: "", name: "", lines: 0 });
  return {
    files: shapes.length,
    lines: shapes.reduce((n, s) => n + s.lines, 0),
    largestFile: { path: largestFile.path, lines: largestFile.lines },
    largestFunction,
    castsInCli: shapes.filter((s) => s.path.startsWith("cli/")).reduce((n, s) => n + s.casts, 0),
    valueCycles: cycles(values),
    allCycles: cycles(all),
  };
}

function report(s: CodeShape): string[] {
  const groups = (gs: string[][]) => gs.map((g) => `  ${g.join(" <-> ")}`);
  return [
    `files: ${s.files}, lines: ${s.lines}`,
    `largest file: ${s.largestFile.path} (${s.largestFile.lines} lines)`,
    `largest function: ${s.largestFunction.name} in ${s.largestFunction.path} (${s.largestFunction.lines} lines)`,
    `casts in cli/: ${s.castsInCli}`,
    `import cycles (value imports): ${s.valueCycles.length}`,
    ...groups(s.valueCycles),
    `import cycles (type imports included): ${s.allCycles.length}`,
    ...groups(s.allCycles),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const root = resolve(
    args.find((a) => !a.startsWith("--")) ?? join(dirname(fileURLToPath(import.meta.url)), "..", "src"),
  );
  const shape = measure(root);
  console.log(json ? JSON.stringify(shape, null, 2) : report(shape).join("\n"));
}
