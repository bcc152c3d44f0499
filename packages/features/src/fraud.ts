import { defineFeatureView, type FeatureDefinition } from "./feature-view.js";
import type { FeatureSetDefinition } from "./registry.js";

const WINDOWS = ["10m", "1h", "24h", "7d"] as const;

function perWindow(make: (window: (typeof WINDOWS)[number]) => FeatureDefinition): FeatureDefinition[] {
  return WINDOWS.map(make);
}

/**
 * `card_txn`: card-transaction features for the fraud example, keyed by entity `card`, fed by
 * `transaction` events. Velocity (counts, sums), amount shape (mean, max, min, stddev), spread
 * (distinct merchant categories and countries) and the last values seen.
 */
export const cardTxnView = defineFeatureView({
  name: "card_txn",
  entity: "card",
  description: "Card-transaction velocity, amount and spread features for fraud scoring.",
  allowedLateness: "5m",
  sources: {
    transaction: {
      card_id: { type: "string", optional: true, description: "Repeats entity_id when producers send it." },
      amount: { type: "number", description: "Transaction amount in the card's currency." },
      merchant_category: { type: "string", description: "ISO 18245 merchant category code." },
      country: { type: "string", description: "ISO 3166-1 alpha-2 country of the merchant." },
      channel: { type: "string", description: "pos, ecom or atm." },
    },
  },
  features: [
    ...perWindow((w) => ({ name: `txn_count_${w}`, aggregation: "count", window: w, description: `Transactions in the last ${w}.` })),
    ...perWindow((w) => ({ name: `amount_sum_${w}`, aggregation: "sum", field: "amount", window: w, description: `Total amount in the last ${w}.` })),
    ...perWindow((w) => ({ name: `amount_mean_${w}`, aggregation: "mean", field: "amount", window: w, description: `Mean amount in the last ${w}.` })),
    ...perWindow((w) => ({ name: `amount_max_${w}`, aggregation: "max", field: "amount", window: w, description: `Largest amount in the last ${w}.` })),
    { name: "amount_min_24h", aggregation: "min", field: "amount", window: "24h", description: "Smallest amount in the last 24h." },
    { name: "amount_stddev_7d", aggregation: "stddev", field: "amount", window: "7d", description: "Population stddev of amounts over 7d." },
    { name: "ecom_count_1h", aggregation: "count", window: "1h", where: { channel: "ecom" }, description: "Card-not-present transactions in the last hour." },
    { name: "merchant_categories_24h", aggregation: "distinct_count", field: "merchant_category", window: "24h", description: "Distinct merchant categories in 24h." },
    { name: "countries_24h", aggregation: "distinct_count", field: "country", window: "24h", description: "Distinct countries in 24h." },
    { name: "last_amount", aggregation: "last", field: "amount", window: "7d", description: "Amount of the latest transaction (within 7d)." },
    { name: "last_country", aggregation: "last", field: "country", window: "7d", description: "Country of the latest transaction (within 7d)." },
    { name: "last_channel", aggregation: "last", field: "channel", window: "7d", description: "Channel of the latest transaction (within 7d)." },
  ],
});

/** `fraud_v1`: the numeric inputs of the fraud model, in model-input order. */
export const fraudV1FeatureSet: FeatureSetDefinition = {
  name: "fraud_v1",
  description: "Inputs of the card fraud model (numeric features of card_txn).",
  features: [
    "card_txn:txn_count_10m",
    "card_txn:txn_count_1h",
    "card_txn:txn_count_24h",
    "card_txn:txn_count_7d",
    "card_txn:amount_sum_1h",
    "card_txn:amount_sum_24h",
    "card_txn:amount_mean_7d",
    "card_txn:amount_max_24h",
    "card_txn:amount_stddev_7d",
    "card_txn:ecom_count_1h",
    "card_txn:merchant_categories_24h",
    "card_txn:countries_24h",
    "card_txn:last_amount",
  ],
};
