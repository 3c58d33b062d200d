// Paths quoted for the commands that messages and hints tell the user to paste.
/** Quotes a path for a command line the user may paste (only when it needs quoting). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
