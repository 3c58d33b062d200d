// What a command handler gets: where to write (so commands run in-process in tests), the
// global options, the library context (created on first use), and helpers that keep every
// command's output consistent: --json prints one JSON document on stdout, otherwise
// human lines; progress goes to stderr.
import { QuiltError } from "../errors.js";
import type { Session } from "../session.js";
import { forTerminal } from "../untrusted-text.js";
import type { Io } from "./io.js";
import { Progress } from "./progress.js";

export { processIo, type Io } from "./io.js";

export interface GlobalArgs {
  verbose: boolean;
  json: boolean;
  registry?: string;
}

export class CommandContext {
  /** Set by a handler: the exit status when it returns normally (e.g. 1 for a difference). */
  exitCode = 0;
  globals: GlobalArgs = { verbose: false, json: false };
  private session: Session | undefined;
  /** The session's class, imported by loadSession: the daemon's commands never load the library. */
  private sessionClass: typeof Session | undefined;

  constructor(
    readonly io: Io,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The command's session (stores, caches, registries), built on first use from this environment. */
  get quilt(): Session {
    if (this.sessionClass === undefined)
      throw new QuiltError("EINTERNAL", "The command's session was used before it was loaded", {
        hint: "a command that reads ctx.quilt must not be defined with session: false; call loadSession() first",
      });
    this.session ??= new this.sessionClass({ env: this.env });
    return this.session;
  }

  /** Imports the library's session (S3 client, block cache, LMDB) for ctx.quilt; command.ts calls it before a handler that uses it. */
  async loadSession(): Promise<void> {
    this.sessionClass ??= (await import("../session.js")).Session;
  }

  /** Human lines (control characters from keys or metadata escaped), or with --json the document instead. */
  print(human: string | string[], json: unknown): void {
    if (this.globals.json) this.io.out(JSON.stringify(json, jsonReplacer) + "\n");
    else {
      const lines = Array.isArray(human) ? human : [human];
      if (lines.length > 0) this.io.out(forTerminal(lines.join("\n")) + "\n");
    }
  }

  /** A line of human output that --json suppresses (e.g. "Installing ..."). */
  say(line: string): void {
    if (!this.globals.json) this.io.out(forTerminal(line) + "\n");
  }

  progress(label: string): Progress {
    return new Progress(this.io, label);
  }

  async close(): Promise<void> {
    await this.session?.close();
  }
}

/** bigint (big integers in metadata) as JSON numbers' text would lose nothing; print as strings. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
