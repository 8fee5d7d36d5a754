// `.env` and `env_file` files as Compose reads them: `KEY=VALUE` lines,
// `#` comments and blank lines skipped, an optional `export ` prefix, values
// in single quotes taken literally and in double quotes with \n, \t, \\ and \"
// unescaped. Unquoted values end at ` #` (an inline comment) and are trimmed.
// No interpolation inside the file (docker-compose 1.29 does none either).

export interface EnvLine {
  key: string;
  /** Undefined for a bare `KEY` line (Compose takes it from the shell; gitfleet has none: an error). */
  value: string | undefined;
  line: number;
}

export interface EnvParse {
  entries: EnvLine[];
  problems: { line: number; message: string }[];
}

const keyRe = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function unquote(raw: string): string {
  const v = raw.trim();
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\([nt"\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  const comment = v.search(/\s#/);
  return (comment < 0 ? v : v.slice(0, comment)).trim();
}

export function parseEnvFile(text: string): EnvParse {
  const out: EnvParse = { entries: [], problems: [] };
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    const key = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!keyRe.test(key)) {
      out.problems.push({ line: i + 1, message: `"${key.slice(0, 40)}" is not a variable name (letters, digits, _ . -, not starting with a digit)` });
      return;
    }
    out.entries.push({ key, value: eq < 0 ? undefined : unquote(body.slice(eq + 1)), line: i + 1 });
  });
  return out;
}
