// The engine streams events and pull progress as newline-delimited JSON, and a
// chunk may end mid-line or hold several lines. This splitter buffers partial
// lines and reports unparsable ones instead of throwing out of a stream handler.

export class NdjsonSplitter {
  private buffer = '';

  constructor(
    private readonly onValue: (value: unknown) => void,
    private readonly onBadLine: (line: string, error: unknown) => void,
  ) {}

  push(chunk: Buffer | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      this.emit(line);
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    const rest = this.buffer;
    this.buffer = '';
    this.emit(rest);
  }

  private emit(line: string): void {
    const trimmed = line.trim();
    if (trimmed === '') return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      this.onBadLine(trimmed, error);
      return;
    }
    this.onValue(value);
  }
}
