// Turns zod issues into validation issues: a stable code, the position of the
// offending key or value in the YAML file, and for an unknown key the nearest
// valid one.
import type { z } from 'zod';
import type { ErrorCode } from '../../shared/errors.ts';
import type { ValidationIssue } from './issues.ts';
import { issue } from './issues.ts';
import { didYouMean } from './nearest.ts';
import type { DataPath, YamlSource } from './yaml-source.ts';

type ZodIssue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  valueType?: AnySchema;
  element?: AnySchema;
  options?: AnySchema[];
}

function defOf(schema: AnySchema): Def {
  return schema._zod.def as unknown as Def;
}

/** The object/record/array schemas that may apply at `path` (unions give several). */
function schemasAt(schema: AnySchema, path: readonly PropertyKey[]): AnySchema[] {
  const def = defOf(schema);
  if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'readonly') && def.innerType) {
    return schemasAt(def.innerType, path);
  }
  if (def.type === 'pipe' && def.in) return schemasAt(def.in, path);
  if (def.type === 'union' && def.options) return def.options.flatMap((o) => schemasAt(o, path));
  if (path.length === 0) return [schema];
  const [head, ...rest] = path;
  if (def.type === 'object' && def.shape && typeof head === 'string' && def.shape[head]) return schemasAt(def.shape[head], rest);
  if (def.type === 'record' && def.valueType) return schemasAt(def.valueType, rest);
  if (def.type === 'array' && def.element) return schemasAt(def.element, rest);
  return [];
}

function knownKeys(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  return schemasAt(schema, path).flatMap((s) => Object.keys(defOf(s).shape ?? {}));
}

/** `healthcheck.interval`, `ports[0]`. */
export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function typeName(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

const typeWords: Record<string, string> = { object: 'a map', record: 'a map', map: 'a map', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false', int: 'an integer' };

/** Expected types of a failed union, or null when one branch matched the type and failed deeper. */
function unionExpectations(errors: ZodIssue[][]): { expected: string[] } | { deeper: ZodIssue[] } {
  const deeper = errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
  if (deeper) return { deeper };
  const expected = new Set<string>();
  for (const branch of errors) {
    for (const i of branch) {
      if (i.code === 'invalid_type') expected.add(typeWords[i.expected] ?? i.expected);
      else expected.add(i.message);
    }
  }
  return { expected: [...expected] };
}

export interface ZodIssueContext {
  source: YamlSource;
  /** Where the validated value sits in the file, e.g. ['containers', 'web']. */
  base: DataPath;
  /** e.g. `container "web"`; '' for the file's top level. */
  subject: string;
  schema: AnySchema;
  value: unknown;
  /** Leaves out issues this returns true for (used to defer values that hold ${…} until substitution). */
  skip?: (path: readonly PropertyKey[], code: ErrorCode) => boolean;
}

export function zodIssuesToValidation(issues: readonly ZodIssue[], ctx: ZodIssueContext): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const where = (path: readonly PropertyKey[]) => {
    const key = pathText(path);
    if (key === '') return ctx.subject === '' ? 'the file' : ctx.subject;
    return ctx.subject === '' ? `"${key}"` : `"${key}" in ${ctx.subject}`;
  };
  const push = (path: readonly PropertyKey[], code: ErrorCode, message: string, which: 'key' | 'value' = 'value') => {
    if (ctx.skip?.(path, code)) return;
    out.push(issue(ctx.source.file, ctx.source.locate([...ctx.base, ...(path as (string | number)[])], which), code, message));
  };
  const visit = (i: ZodIssue, prefix: readonly PropertyKey[]) => {
    const path = [...prefix, ...i.path];
    const got = valueAt(ctx.value, path);
    switch (i.code) {
      case 'unrecognized_keys':
        for (const key of i.keys) {
          const inside = ctx.subject === '' && path.length === 0 ? '' : ` in ${where(path)}`;
          const known = knownKeys(ctx.schema, path);
          const hint = didYouMean(key, known) || (known.length > 0 && known.length <= 8 ? ` (valid keys: ${known.join(', ')})` : '');
          push([...path, key], 'UNKNOWN_KEY', `unknown key "${key}"${inside}${hint}`, 'key');
        }
        return;
      case 'invalid_type':
        if (got === undefined && path.length > 0) {
          // Points at the key that names the incomplete map (`web:`), where a reader looks.
          push(path.slice(0, -1), 'MISSING_KEY', `missing required key "${String(path[path.length - 1])}" in ${where(path.slice(0, -1))}`, 'key');
        } else {
          // A schema's own message (e.g. the file mode's) explains more than the type.
          const hint = i.message.startsWith('Invalid input') ? '' : ` (${i.message})`;
          push(path, 'INVALID_VALUE', `${where(path)} must be ${typeWords[i.expected] ?? i.expected}, not ${typeName(got)}${hint}`);
        }
        return;
      case 'invalid_value': {
        const allowed = i.values.map((v) => String(v));
        const hint = typeof got === 'string' ? didYouMean(got, allowed) : '';
        push(path, 'INVALID_VALUE', `${where(path)} must be one of ${allowed.join(', ')}, not ${typeName(got)}${hint}`);
        return;
      }
      case 'invalid_union': {
        const u = unionExpectations(i.errors);
        if ('deeper' in u) {
          for (const inner of u.deeper) visit(inner, path);
        } else {
          push(path, 'INVALID_VALUE', `${where(path)} must be ${u.expected.join(' or ')}, not ${typeName(got)}`);
        }
        return;
      }
      case 'invalid_key':
        push(path, 'INVALID_NAME', `${where(path)}: ${i.issues.map((x) => x.message).join('; ')}`, 'key');
        return;
      case 'invalid_format':
      case 'custom':
        push(path, 'INVALID_VALUE', `${where(path)} must be ${i.message}, not ${typeName(got)}`);
        return;
      default:
        push(path, 'INVALID_VALUE', `${where(path)}: ${i.message}`);
    }
  };
  for (const i of issues) visit(i, []);
  return out;
}
