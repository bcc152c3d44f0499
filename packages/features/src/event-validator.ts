import { type Duration, parseDuration } from "./duration.js";
import type { Event, EventInput, FieldValue } from "./event.js";
import type { EventRejection, RejectionCode } from "./event-rejection.js";
import { parseEventTime } from "./event-time.js";
import type { FeatureView } from "./feature-view.js";
import { mergeSourceSchemas, type MergedField } from "./registry.js";

/** Outcome of validating one event: the typed event, or the reason it was refused. Never throws. */
export type EventResult = { readonly ok: true; readonly event: Event } | { readonly ok: false; readonly rejection: EventRejection };

/** Options for `createEventValidator`. */
export interface EventValidatorOptions {
  /** Views whose source schemas events are checked against (entity, type and fields). */
  readonly views: readonly FeatureView[];
  /** Largest accepted raw event in bytes. Default: 65536. */
  readonly maxEventBytes?: number;
  /** How far ahead of `now()` an event time may be. Default: "5m". Pass `Infinity` to disable (replay of trusted history). */
  readonly maxClockSkew?: Duration;
  /** Clock for the future-time check, epoch ms. Default: `Date.now`. */
  readonly now?: () => number;
  /** Longest accepted event_id and entity_id, in characters (dedup keeps ids in memory). Default: 256. */
  readonly maxIdLength?: number;
}

/** Validates raw events against the views' schemas. Stateless: TOO_LATE and DUPLICATE are decided by the engine. */
export interface EventValidator {
  /** Decodes JSON bytes (UTF-8) or text and validates them. */
  parse(raw: Uint8Array | string): EventResult;
  /** Validates the structured form a protobuf (or other) decoder produced. */
  validate(input: EventInput): EventResult;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
type TopLevelKey = "event_id" | "entity" | "entity_id" | "event_time" | "type" | "fields";

function reject(code: RejectionCode, message: string, field?: string, eventId?: string, entityId?: string): EventResult {
  const rejection: { -readonly [K in keyof EventRejection]: EventRejection[K] } = { code, message };
  if (field !== undefined) rejection.field = field;
  if (eventId !== undefined) rejection.eventId = eventId;
  if (entityId !== undefined) rejection.entityId = entityId;
  return { ok: false, rejection };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Builds a validator for the given views; throws FeatureError if their schemas conflict. */
export function createEventValidator(options: EventValidatorOptions): EventValidator {
  const schemas = mergeSourceSchemas(options.views);
  // Field checks run in name order so the first reported problem does not depend on JSON key order.
  const ordered = new Map<string, Map<string, readonly MergedField[]>>();
  for (const [entity, byType] of schemas) {
    ordered.set(entity, new Map([...byType].map(([type, fields]) => [type, [...fields.values()].sort((a, b) => (a.name < b.name ? -1 : 1))])));
  }
  const maxEventBytes = options.maxEventBytes ?? 65_536;
  const skew = options.maxClockSkew ?? "5m";
  const maxSkewMs = skew === Infinity ? Infinity : parseDuration(skew, "maxClockSkew");
  const now = options.now ?? Date.now;
  const maxIdLength = options.maxIdLength ?? 256;

  const isId = (value: unknown): value is string => typeof value === "string" && value.length > 0 && value.length <= maxIdLength;
  // Why `value` is not an id (isId said no); the ids already checked go into the rejection.
  const badId = (value: unknown, field: string, eventId?: string, entityId?: string): EventResult => {
    if (value === undefined || value === null) return reject("MISSING_FIELD", `${field} is missing`, field, eventId, entityId);
    if (typeof value !== "string") return reject("INVALID_FIELD_TYPE", `${field} must be a string, got ${describe(value)}`, field, eventId, entityId);
    return reject("INVALID_VALUE", `${field} must be 1 to ${maxIdLength} characters, got ${value.length}`, field, eventId, entityId);
  };

  // Hot path: guarded by bench/features.bench.ts (ingest events/s). A valid event allocates only
  // what it returns; messages and field paths are built on the rejection paths alone.
  const validate = (input: EventInput): EventResult => {
    const eventId = input.eventId;
    if (!isId(eventId)) return badId(eventId, "event_id");
    const entityId = input.entityId;
    if (!isId(entityId)) return badId(entityId, "entity_id", eventId);
    const entity = input.entity;
    if (!isId(entity)) return badId(entity, "entity", eventId, entityId);
    const type = input.type;
    if (!isId(type)) return badId(type, "type", eventId, entityId);
    if (input.eventTime === undefined || input.eventTime === null) return reject("MISSING_FIELD", "event_time is missing", "event_time", eventId, entityId);
    const fields = input.fields;
    if (fields === undefined || fields === null) return reject("MISSING_FIELD", "fields is missing", "fields", eventId, entityId);
    if (typeof fields !== "object" || Array.isArray(fields)) return reject("INVALID_FIELD_TYPE", `fields must be an object, got ${describe(fields)}`, "fields", eventId, entityId);

    const byType = ordered.get(entity);
    if (byType === undefined) return reject("UNKNOWN_ENTITY", `entity ${JSON.stringify(entity)} has no feature view`, "entity", eventId, entityId);
    const schema = byType.get(type);
    if (schema === undefined) return reject("UNKNOWN_TYPE", `no feature view of entity ${entity} consumes event type ${JSON.stringify(type)}`, "type", eventId, entityId);

    const time = parseEventTime(input.eventTime);
    if (!time.ok) return reject("BAD_EVENT_TIME", `event_time: ${time.message}`, "event_time", eventId, entityId);
    const limit = now() + maxSkewMs;
    if (time.ms > limit) {
      return reject("FUTURE_EVENT_TIME", `event_time ${new Date(time.ms).toISOString()} is more than ${skew} ahead of now`, "event_time", eventId, entityId);
    }

    const source = fields as Record<string, unknown>;
    const out: Record<string, FieldValue> = {};
    for (const field of schema) {
      const value = Object.hasOwn(source, field.name) ? source[field.name] : undefined;
      if (value === undefined || value === null) {
        if (field.optional) continue;
        const path = `fields.${field.name}`;
        return reject("MISSING_FIELD", `${path} is required (${field.type}) for ${entity}/${type}`, path, eventId, entityId);
      }
      if (typeof value !== field.type) {
        const path = `fields.${field.name}`;
        return reject("INVALID_FIELD_TYPE", `${path} must be a ${field.type}, got ${describe(value)}`, path, eventId, entityId);
      }
      if (typeof value === "number") {
        if (!Number.isFinite(value)) {
          const path = `fields.${field.name}`;
          return reject("NON_FINITE_NUMBER", `${path} must be a finite number, got ${value}`, path, eventId, entityId);
        }
        // -0 and 0 are one value for every aggregation; normalising keeps min/max/distinct order-free.
        out[field.name] = value === 0 ? 0 : value;
      } else {
        out[field.name] = value as FieldValue;
      }
    }
    return { ok: true, event: { eventId, entity, entityId, eventTime: time.ms, type, fields: out } };
  };

  const parse = (raw: Uint8Array | string): EventResult => {
    const size = typeof raw === "string" ? Buffer.byteLength(raw, "utf8") : raw.byteLength;
    if (size > maxEventBytes) return reject("OVERSIZE", `event is ${size} bytes, more than the ${maxEventBytes} allowed`);
    let value: unknown;
    try {
      value = JSON.parse(typeof raw === "string" ? raw : decoder.decode(raw));
    } catch (err) {
      return reject("MALFORMED_JSON", `not valid ${err instanceof SyntaxError ? "JSON" : "UTF-8"}: ${(err as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return reject("MALFORMED_JSON", `an event must be a JSON object, got ${describe(value)}`);
    }
    const obj = value as Record<TopLevelKey, unknown>;
    // Own properties only: a key inherited from Object.prototype is absent, not a value.
    return validate({
      eventId: Object.hasOwn(obj, "event_id") ? obj.event_id : undefined,
      entity: Object.hasOwn(obj, "entity") ? obj.entity : undefined,
      entityId: Object.hasOwn(obj, "entity_id") ? obj.entity_id : undefined,
      eventTime: Object.hasOwn(obj, "event_time") ? obj.event_time : undefined,
      type: Object.hasOwn(obj, "type") ? obj.type : undefined,
      fields: Object.hasOwn(obj, "fields") ? obj.fields : undefined,
    });
  };

  return { parse, validate };
}
