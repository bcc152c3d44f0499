/**
 * A Prometheus histogram scraped from a service's /metrics: cumulative count per upper bound (`le`),
 * of the series whose labels contain `labels` (all of the metric's series when empty).
 */
export async function scrapeHistogram(metricsUrl: string, metric: string, labels = ""): Promise<Map<number, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const m = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}_bucket{`) || !line.includes(labels)) continue;
    const hit = /le="([^"]+)".*\} (\d+)/.exec(line);
    if (hit) m.set(hit[1] === "+Inf" ? Infinity : Number(hit[1]), Number(hit[2]));
  }
  return m;
}
