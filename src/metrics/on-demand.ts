// The /metrics registry, built at the first scrape: prom-client and what it
// pulls in (@opentelemetry/api among them, 80 modules, ~1.3 MiB of heap) are
// loaded only by a proxy that is scraped. The primary's default process
// metrics then count from the first scrape on (the GC and event-loop delay
// histograms start there; counters such as CPU seconds are absolute anyway).
import type { MetricsSources, ProxyMetrics } from './registry';

export class MetricsOnDemand {
  readonly #sources: MetricsSources;
  #metrics: ProxyMetrics | undefined;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
  }

  get(): ProxyMetrics {
    this.#metrics ??= new (require('./registry') as typeof import('./registry')).ProxyMetrics(this.#sources);
    return this.#metrics;
  }
}
