/** A value carried in an event's `fields`, after validation (numbers are finite, -0 is normalised to 0). */
export type FieldValue = number | string | boolean;

/**
 * A validated event, the only input the engine accepts. Produce it with `createEventValidator`
 * (from JSON bytes or from the structured `EventInput` a protobuf decoder fills in).
 */
export interface Event {
  /** Producer-assigned id, unique per entity; the engine's dedup key. */
  readonly eventId: string;
  /** Entity type, e.g. "card". */
  readonly entity: string;
  /** Entity key, e.g. the card id; also the Kafka record key. */
  readonly entityId: string;
  /** Event time in epoch milliseconds (sub-millisecond RFC 3339 fractions are truncated). */
  readonly eventTime: number;
  /** Event type, e.g. "transaction". */
  readonly type: string;
  /** Only the fields declared by the views' schemas for this type; absent optional fields are omitted. */
  readonly fields: Readonly<Record<string, FieldValue>>;
}

/**
 * The protobuf-free structured form of a raw event: what a decoder (JSON or protobuf) hands to
 * `EventValidator.validate`. Values are unchecked; `eventTime` is RFC 3339 text or epoch milliseconds.
 */
export interface EventInput {
  /** Producer-assigned id. */
  readonly eventId: unknown;
  /** Entity type. */
  readonly entity: unknown;
  /** Entity key. */
  readonly entityId: unknown;
  /** RFC 3339 string or epoch milliseconds. */
  readonly eventTime: unknown;
  /** Event type. */
  readonly type: unknown;
  /** Field values by name. */
  readonly fields: unknown;
}

/** Orders events canonically by (eventTime, eventId): the order replay uses and ties are broken by. */
export function compareEvents(a: Pick<Event, "eventTime" | "eventId">, b: Pick<Event, "eventTime" | "eventId">): number {
  if (a.eventTime !== b.eventTime) return a.eventTime < b.eventTime ? -1 : 1;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}
