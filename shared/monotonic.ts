// A monotonic clock in milliseconds, for intervals and deadlines that a
// wall-clock step (NTP, a dead RTC corrected at boot) must not move.
// process.hrtime rather than performance.now(): the `performance` global loads
// ten of Node's perf_hooks modules at its first use, about 0.8 MiB of a
// daemon's resident memory for a clock (docs/edge.md, "Footprint").
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
