// Parses one YAML file and maps paths inside it back to line and column.
// Aliases are expanded with a hard cap (an alias bomb is refused in
// milliseconds); unknown tags and other warnings are errors, so nothing in a
// file is silently read as something else.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { Position, ValidationIssue } from './issues.ts';
import { issue, wholeFile } from './issues.ts';

export const MAX_ALIAS_COUNT = 100;

export type DataPath = readonly (string | number)[];

export interface YamlSource {
  file: string;
  /** The plain value, or undefined when the file could not be parsed. */
  value: unknown;
  issues: ValidationIssue[];
  /** Position of the key (for map entries) or the value at `path`; the nearest existing ancestor when missing. */
  locate(path: DataPath, which?: 'key' | 'value'): Position;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?\s*$/, '');
}

/** `merge`: YAML 1.1 merge keys (`<<: *anchor`), which Compose files use (docs/compose.md). */
export function parseYaml(file: string, text: string, options: { merge?: boolean } = {}): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: options.merge === true });
  const at = (offset: number | undefined): Position => {
    if (offset === undefined) return wholeFile;
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const locate = (path: DataPath, which: 'key' | 'value' = 'value'): Position => at(offsetOf(doc, path, which));
  // Only the first: after one syntax error the parser's later complaints are mostly echoes of it.
  const problems = [...doc.errors, ...doc.warnings].slice(0, 1);
  if (problems.length > 0) {
    const issues = problems.map((e) =>
      issue(file, e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : wholeFile, 'YAML_SYNTAX', firstLine(e.message)),
    );
    return { file, value: undefined, issues, locate };
  }
  try {
    return { file, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), issues: [], locate };
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      const message = `the file expands YAML aliases more than ${MAX_ALIAS_COUNT} times (an alias bomb?); refused`;
      return { file, value: undefined, issues: [issue(file, wholeFile, 'YAML_ALIAS_LIMIT', message)], locate };
    }
    return { file, value: undefined, issues: [issue(file, wholeFile, 'YAML_SYNTAX', firstLine(error instanceof Error ? error.message : String(error)))], locate };
  }
}

function offsetOf(doc: Document, path: DataPath, which: 'key' | 'value'): number | undefined {
  let node: unknown = doc.contents;
  let best: number | undefined = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return best;
      if (last && which === 'key') return rangeStart(pair.key) ?? best;
      node = pair.value;
      // An entry with no value (`web:`) has no node; its key is the place.
      best = rangeStart(node) ?? rangeStart(pair.key) ?? best;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      best = rangeStart(node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as YamlNode).range;
    if (range) return range[0];
  }
  return undefined;
}
