// Compose splits a string `command:`/`entrypoint:` into words the way a POSIX
// shell would (without running one): `sh -c` is never added, so
// `command: echo $HOME` passes the literal `$HOME`. We do the same so a
// compose file means the same thing here.
import { invalid } from './quantities.ts';

export function splitShellWords(input: string, key: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < input.length && '\\"$`\n'.includes(input[i + 1] as string)) word += input[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw invalid(key, input, 'a command line (it ends with a lone backslash)');
      word += input[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) throw invalid(key, input, `a command line (a ${quote} quote is not closed)`);
  if (inWord) words.push(word);
  return words;
}
