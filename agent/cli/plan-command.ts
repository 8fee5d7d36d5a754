// Placeholder until this command lands; it says so instead of pretending.
export function run(_argv: string[]): Promise<number> {
  process.stderr.write('gitfleet: this command is not built yet\n');
  return Promise.resolve(2);
}
