import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** A Prometheus registry with the process's default metrics, one per service. */
export interface Metrics {
  /** The underlying registry (rendered on GET /metrics). */
  readonly registry: Registry;
  /** A counter registered here. */
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  /** A gauge registered here. */
  gauge<L extends string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  /** A histogram registered here; buckets in the metric's unit (seconds for durations). */
  histogram<L extends string>(name: string, help: string, labelNames?: readonly L[], buckets?: readonly number[]): Histogram<L>;
}

/** Latency buckets in seconds from 100µs to 10s, for request and I/O durations. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Options of createMetrics. */
export interface MetricsOptions {
  /** Added as a `service` label to every metric. */
  service: string;
  /** Collect Node process metrics (heap, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

/** Creates a registry; metric names should start with `loopline_`. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames: [...labelNames], registers: [registry] }),
    gauge: (name, help, labelNames = []) => new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] }),
    histogram: (name, help, labelNames = [], buckets = LATENCY_BUCKETS) =>
      new Histogram({ name, help, labelNames: [...labelNames], buckets: [...buckets], registers: [registry] }),
  };
}
