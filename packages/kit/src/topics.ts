/** Base names of Loopline's topics (DESIGN.md); the configured prefix (default "loopline.") goes in front. */
export const TOPIC_BASES = ["events", "features", "predictions", "labels", "drift", "models", "retrain"] as const;

/** One of Loopline's topic base names. */
export type TopicBase = (typeof TOPIC_BASES)[number];

/** The default topic prefix. */
export const DEFAULT_TOPIC_PREFIX = "loopline.";

/** Full topic name for a base name under a prefix, e.g. ("loopline.", "events") -> "loopline.events". */
export function topicName(prefix: string, base: TopicBase): string {
  return `${prefix}${base}`;
}

/** The dead-letter topic of a consumed topic: `<topic>.dlq`. */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** How a topic is created: partitions and whether it is compacted. */
export interface TopicSpec {
  /** Full topic name. */
  topic: string;
  /** Partition count. */
  partitions: number;
  /** Log compaction (cleanup.policy=compact) instead of deletion. */
  compacted?: boolean;
  /** Extra topic configs, e.g. retention.ms. */
  configs?: Readonly<Record<string, string>>;
}

/** Every topic Loopline uses, with its DLQs, for a prefix and a partition count. */
export function looplineTopicSpecs(prefix: string, partitions = 3): TopicSpec[] {
  const specs: TopicSpec[] = [];
  for (const base of TOPIC_BASES) {
    const topic = topicName(prefix, base);
    // The registry's change feed is compacted and single-partition: one total order of model events.
    if (base === "models") specs.push({ topic, partitions: 1, compacted: true });
    else specs.push({ topic, partitions });
    specs.push({ topic: dlqTopic(topic), partitions: 1 });
  }
  return specs;
}

/** The table's spec (partitions, compaction) of one full topic name under a prefix; throws for a name that is not a Loopline topic or DLQ there. */
export function topicSpec(prefix: string, topic: string): TopicSpec {
  const spec = looplineTopicSpecs(prefix).find((s) => s.topic === topic);
  if (spec === undefined) throw new RangeError(`${topic} is not a Loopline topic under the prefix "${prefix}"`);
  return spec;
}

/** The table's specs for several topics, in order: every service creates its topics from this one table. */
export function topicSpecs(prefix: string, topics: readonly string[]): TopicSpec[] {
  return topics.map((topic) => topicSpec(prefix, topic));
}
