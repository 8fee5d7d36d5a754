// A fleet repository in a plain directory, for tests where the hub or an agent
// reads it by path: `git` runs a git command in it under a fixed test author,
// `commit` writes files (creating their folders), commits everything and
// returns the new commit id.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const author = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };

export interface LocalGitRepo {
  git(...args: string[]): string;
  commit(files: Record<string, string>, message: string): string;
}

/** Commands on the repository in `dir`; the test runs `git('init', …)` itself, when git is there. */
export function localGitRepo(dir: string): LocalGitRepo {
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...author } }).trim();
  const commit = (files: Record<string, string>, message: string) => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    git('add', '-A');
    git('commit', '-q', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  return { git, commit };
}
