// Latency recording for the benchmark: an HDR histogram in microseconds
// (1 µs … 60 s at 3 significant digits), reported in milliseconds.
import hdr from "hdr-histogram-js";

export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });

  recordMs(latencyMs: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
  }

  summary(): LatencySummary {
    const ms = (percentile: number): number =>
      this.histogram.getValueAtPercentile(percentile) / 1000;
    return {
      p50Ms: ms(50),
      p99Ms: ms(99),
      p999Ms: ms(99.9),
      maxMs: this.histogram.maxValue / 1000,
    };
  }
}
