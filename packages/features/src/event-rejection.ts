/** Stable reasons an event is refused; the DLQ records them verbatim. */
export type RejectionCode =
  | "OVERSIZE"
  | "MALFORMED_JSON"
  | "MISSING_FIELD"
  | "INVALID_FIELD_TYPE"
  | "INVALID_VALUE"
  | "NON_FINITE_NUMBER"
  | "UNKNOWN_ENTITY"
  | "UNKNOWN_TYPE"
  | "BAD_EVENT_TIME"
  | "FUTURE_EVENT_TIME"
  | "TOO_LATE"
  | "DUPLICATE";

/** Why an event was refused: a stable code, the field at fault when there is one, and a message naming it. */
export interface EventRejection {
  /** Stable machine-readable reason. */
  readonly code: RejectionCode;
  /** Path of the offending field ("event_time", "fields.amount"); absent when the whole event is at fault. */
  readonly field?: string;
  /** Human-readable explanation naming the field and the value. */
  readonly message: string;
  /** The event id, when it could be read. */
  readonly eventId?: string;
  /** The entity id, when it could be read. */
  readonly entityId?: string;
}
