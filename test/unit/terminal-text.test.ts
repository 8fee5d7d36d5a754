// Remote text on a terminal: every control, C1 and bidi character comes out
// escaped and visible; ordinary text (accents, CJK, emoji) is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { terminalJson, terminalText } from '../../shared/terminal-text.ts';

// Anything a terminal could act on or that reorders text.
const dangerous = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

test('escape table', () => {
  const table: Array<[string, string]> = [
    ['plain text', 'plain text'],
    ['\x1b]0;pwned\x07\x1b[2J', '\\x1b]0;pwned\\x07\\x1b[2J'],
    ['a\nb\tc\rd', 'a\\x0ab\\x09c\\x0dd'],
    ['del\x7f c1\x9b31m nul\0', 'del\\x7f c1\\x9b31m nul\\x00'],
    ['user\u202Egnp.exe', 'user\\u202egnp.exe'],
    ['\u2066iso\u2069 \u200Fmark \u061C \u2028', '\\u2066iso\\u2069 \\u200fmark \\u061c \\u2028'],
    ['café 東京 🚀 ≠', 'café 東京 🚀 ≠'],
  ];
  for (const [input, out] of table) assert.equal(terminalText(input), out, JSON.stringify(input));
  assert.equal(terminalText('a\nb\tc\x1b', { multiline: true }), 'a\nb\tc\\x1b');
});

test('no dangerous character survives, for every code point below U+3000', () => {
  let all = '';
  for (let c = 0; c < 0x3000; c++) if (c < 0xd800 || c > 0xdfff) all += String.fromCharCode(c);
  assert.equal(dangerous.test(terminalText(all)), false);
  assert.equal(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(terminalText(all, { multiline: true })), false);
});

test('terminalJson is the same JSON value with nothing raw a terminal acts on', () => {
  const value = { msg: '\x1b[2J\u009b\u202Eevil', n: 1, list: ['\u2028'] };
  const text = terminalJson(value, 2);
  assert.deepEqual(JSON.parse(text), value);
  assert.equal(dangerous.test(text.replace(/\n/g, '')), false);
});
