// Throughput of the card_txn engine (and of JSON validation + engine) on a synthetic fraud stream.
// Run from the repo root:
//   node --conditions=@loopline/source --import tsx packages/features/bench/engine-throughput.ts [events] [cards]
// Defaults: 1,000,000 events over 10,000 cards spread across 10 days (about 70 events per card in
// the 7d window), 5% of events delayed by up to 4 minutes (inside the 5m lateness), 1% duplicates.
import { cardTxnView, createEventValidator, createFeatureEngine, type Event } from "@loopline/features";

const total = Number(process.argv[2] ?? 1_000_000);
const cards = Number(process.argv[3] ?? 10_000);
const span = 10 * 86_400_000;
const start = Date.UTC(2024, 4, 1);

let seed = 42;
const random = (): number => {
  // mulberry32: a seeded generator so every run measures the same stream.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const categories = ["5411", "5812", "5999", "4111", "5732", "7995", "5541", "5912"];
const countries = ["FR", "DE", "US", "GB", "ES", "IT", "NL", "BR"];
const channels = ["pos", "ecom", "atm"];
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

const events: Event[] = [];
for (let i = 0; i < total; i++) {
  const base = start + Math.floor((i / total) * span);
  const late = random() < 0.05 ? Math.floor(random() * 240_000) : 0;
  events.push({
    eventId: `e${i}`,
    entity: "card",
    entityId: `card-${Math.floor(random() * cards)}`,
    eventTime: base - late,
    type: "transaction",
    fields: { amount: Math.round(random() * 50_000) / 100, merchant_category: pick(categories), country: pick(countries), channel: pick(channels) },
  });
  if (random() < 0.01) events.push(events[events.length - 1] as Event);
}
const raw = events.map((e) =>
  Buffer.from(JSON.stringify({ event_id: e.eventId, entity: e.entity, entity_id: e.entityId, event_time: e.eventTime, type: e.type, fields: e.fields })),
);

function run(label: string, body: () => number): void {
  const t0 = process.hrtime.bigint();
  const accepted = body();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label}: ${events.length} events (${accepted} accepted) in ${seconds.toFixed(2)} s = ${Math.round(events.length / seconds).toLocaleString("en")} events/s`);
}

run("engine.ingest            ", () => {
  const engine = createFeatureEngine({ view: cardTxnView });
  let accepted = 0;
  for (const e of events) if (engine.ingest(e).ok) accepted++;
  return accepted;
});
run("parse JSON + ingest      ", () => {
  const engine = createFeatureEngine({ view: cardTxnView });
  const validator = createEventValidator({ views: [cardTxnView], maxClockSkew: Infinity });
  let accepted = 0;
  for (const bytes of raw) {
    const parsed = validator.parse(bytes);
    if (parsed.ok && engine.ingest(parsed.event).ok) accepted++;
  }
  return accepted;
});
