// Whether a file descriptor is a terminal, without loading node:tty for the
// answer "no": node:tty brings its stream classes (about 0.35 MiB of a
// daemon's resident memory), and a daemon's stdout and stderr are a socket
// or a file. A terminal is a character device, so only a character device
// (a terminal, /dev/null) is asked node:tty's isatty.
import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Tty from 'node:tty';

const requireBuiltin = createRequire(import.meta.url);

export function isTerminal(fd: number): boolean {
  let characterDevice: boolean;
  try {
    characterDevice = fstatSync(fd).isCharacterDevice();
  } catch {
    return false; // closed or invalid: not a terminal, as isatty says
  }
  return characterDevice && (requireBuiltin('node:tty') as typeof Tty).isatty(fd);
}
