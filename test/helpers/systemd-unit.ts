// Reading the unit files in deploy/systemd the way systemd does, as far as tests need: the
// sections and keys (a key may repeat), EnvironmentFile= files (KEY=VALUE lines), and a
// command line with %f and $VAR / ${VAR} expanded (${VAR} stays one word, $VAR splits).
import { readFile } from "node:fs/promises";

export type Unit = Map<string, Map<string, string[]>>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1] as string, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return unit;
}

export function unitValues(unit: Unit, section: string, key: string): string[] {
  return unit.get(section)?.get(key) ?? [];
}

/** KEY=VALUE lines of an EnvironmentFile (comments and blank lines skipped). */
export async function readEnvironmentFile(path: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const eq = t.indexOf("=");
    if (eq > 0) env[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return env;
}

/** An Exec line's words: %f is the unescaped instance path, ${VAR} one word, $VAR split on whitespace. */
export function execWords(
  line: string,
  opts: { instancePath: string; env: Record<string, string> },
): string[] {
  return line
    .replaceAll("%f", opts.instancePath)
    .split(/\s+/)
    .flatMap((word) => {
      const braced = /^\$\{(\w+)\}$/.exec(word);
      if (braced) return [opts.env[braced[1] as string] ?? ""];
      const bare = /^\$(\w+)$/.exec(word);
      if (bare) return (opts.env[bare[1] as string] ?? "").split(/\s+/).filter((w) => w !== "");
      return [word];
    });
}
