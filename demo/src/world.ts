/**
 * A deterministic card-fraud world for the demo: cards with a home country and spending scale,
 * ordinary transactions, and fraud campaigns whose pattern changes when drift is injected.
 *
 * Before the drift, fraud looks like a stolen card used abroad: one or two large e-commerce
 * payments in a foreign country. After the drift, spending shifts for everyone (amounts up, more
 * money-transfer merchants) and fraud turns into card testing: bursts of small domestic
 * e-commerce payments. A model trained on the first pattern learns "large amount = fraud" and
 * misses the second (worse: the honest customers now spend more); one retrained on post-drift
 * labels learns "many payments in ten minutes = fraud" and catches it.
 */

/** Seeded PRNG (mulberry32): the same seed gives the same world. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One transaction as the demo publishes it, with its ground truth. */
export interface Transaction {
  eventId: string;
  cardId: string;
  time: number;
  amount: number;
  merchantCategory: string;
  country: string;
  channel: "pos" | "ecom" | "atm";
  /** Ground truth, revealed later as a chargeback label. */
  fraud: boolean;
}

interface Card {
  id: string;
  home: string;
  scale: number;
  /** Remaining fraudulent transactions of an ongoing campaign on this card. */
  campaignLeft: number;
}

const COUNTRIES = ["US", "FR", "DE", "GB", "ES"];
const NORMAL_MCC = ["5411", "5812", "5999", "5541", "4111"];
const DRIFT_MCC = ["4829", "5411", "5999", "5812", "6051"];

/** Options of createWorld. */
export interface WorldOptions {
  seed: number;
  /** Number of cards. */
  cards: number;
  /** Probability that a transaction starts a fraud campaign on its card, before the drift. */
  campaignRate: number;
  /** The same after the drift (campaigns are longer then). Default campaignRate / 3. */
  driftCampaignRate?: number;
}

/** The world: draw the next transaction at a given time, before or after the drift. */
export interface World {
  next(time: number, drifted: boolean): Transaction;
}

/** Creates a seeded world. */
export function createWorld(options: WorldOptions): World {
  const rnd = createRng(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const lognormal = (mu: number, sigma: number) => Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()));
  const cards: Card[] = Array.from({ length: options.cards }, (_, i) => ({
    id: `card-${String(i).padStart(5, "0")}`,
    home: rnd() < 0.6 ? "US" : pick(COUNTRIES),
    scale: lognormal(3.4, 0.5),
    campaignLeft: 0,
  }));
  let seq = 0;
  let active: Card[] = [];

  return {
    next(time, drifted) {
      seq++;
      // Campaigns run in bursts: an active campaign's card transacts again soon.
      // Card testing comes in bursts (an active campaign's card is used again at once); a stolen
      // card used abroad is used once or twice, minutes apart.
      let card: Card;
      if (active.length > 0 && rnd() < (drifted ? 0.5 : 0.01)) card = pick(active);
      else {
        card = pick(cards);
        if (card.campaignLeft === 0 && rnd() < (drifted ? (options.driftCampaignRate ?? options.campaignRate / 3) : options.campaignRate)) {
          card.campaignLeft = drifted ? 6 + Math.floor(rnd() * 8) : 1 + Math.floor(rnd() * 2);
          active.push(card);
        }
      }
      const fraud = card.campaignLeft > 0;
      let tx: Omit<Transaction, "eventId" | "cardId" | "time" | "fraud">;
      if (fraud) {
        card.campaignLeft--;
        if (card.campaignLeft === 0) active = active.filter((c) => c !== card);
        tx = drifted
          ? { amount: round2(1 + rnd() * 9), merchantCategory: pick(DRIFT_MCC), country: card.home, channel: "ecom" }
          : { amount: round2(card.scale * (6 + rnd() * 10)), merchantCategory: pick(["5999", "5732", "5944"]), country: pick(COUNTRIES.filter((c) => c !== card.home)), channel: "ecom" };
      } else {
        const channel = rnd() < 0.7 ? "pos" : rnd() < 0.8 ? "ecom" : "atm";
        tx = {
          amount: round2(card.scale * lognormal(0, 0.6) * (drifted ? 1.8 : 1)),
          merchantCategory: pick(drifted ? DRIFT_MCC : NORMAL_MCC),
          country: rnd() < 0.93 ? card.home : pick(COUNTRIES),
          channel,
        };
      }
      return { eventId: `tx-${options.seed}-${seq}`, cardId: card.id, time, fraud, ...tx };
    },
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The JSON event the demo publishes to its events topic for a transaction. */
export function eventJson(tx: Transaction): string {
  return JSON.stringify({
    event_id: tx.eventId,
    entity: "card",
    entity_id: tx.cardId,
    event_time: tx.time,
    type: "transaction",
    fields: { card_id: tx.cardId, amount: tx.amount, merchant_category: tx.merchantCategory, country: tx.country, channel: tx.channel },
  });
}
