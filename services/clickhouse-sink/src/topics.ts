import { dlqTopic, looplineTopicSpecs, TOPIC_BASES, topicName, type TopicBase, type TopicSpec } from "@loopline/kit";

/** What a topic carries, which decides how its records are decoded. */
export type TopicKind = TopicBase | "dlq";

/** The ClickHouse table each kind of topic is written to. */
export const TABLE_OF: Readonly<Record<TopicKind, string>> = {
  events: "events",
  features: "features",
  predictions: "predictions",
  labels: "labels",
  drift: "drift_reports",
  models: "model_events",
  retrain: "retrain_decisions",
  dlq: "dead_letters",
};

/** The table for records the sink itself cannot map (they are recorded, never republished: a sink must not loop). */
export const DEAD_LETTERS_TABLE = "dead_letters";

/** A topic the sink consumes. */
export interface SinkTopic {
  /** Full topic name. */
  topic: string;
  kind: TopicKind;
  /** Destination table. */
  table: string;
  /** How to create it when missing (Loopline's standard layout). */
  spec: TopicSpec;
}

/**
 * Resolves configured base names ("predictions", "events.dlq", ...) under a prefix. Throws a
 * RangeError naming the first unknown entry.
 */
export function resolveSinkTopics(prefix: string, names: readonly string[]): SinkTopic[] {
  const specs = new Map(looplineTopicSpecs(prefix).map((s) => [s.topic, s]));
  const out: SinkTopic[] = [];
  for (const name of new Set(names)) {
    const isDlq = name.endsWith(".dlq");
    const base = isDlq ? name.slice(0, -".dlq".length) : name;
    if (!(TOPIC_BASES as readonly string[]).includes(base)) {
      throw new RangeError(`unknown topic "${name}": use ${TOPIC_BASES.join(", ")}, or one of them followed by .dlq`);
    }
    const main = topicName(prefix, base as TopicBase);
    const topic = isDlq ? dlqTopic(main) : main;
    const kind: TopicKind = isDlq ? "dlq" : (base as TopicBase);
    out.push({ topic, kind, table: TABLE_OF[kind], spec: specs.get(topic) ?? { topic, partitions: 1 } });
  }
  return out;
}
