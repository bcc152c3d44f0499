// Routing decisions as pure functions: which deployment answers an entity. No I/O, no clocks.

/** Which deployment answers a request (shadow never answers; it only gets a mirrored copy). */
export type AnswerRoute = "production" | "canary";

/** Buckets an entity can fall in: canary_percent is resolved to 1/100 of a percent. */
export const ROUTING_BUCKETS = 10_000;

/** 32-bit FNV-1a over the UTF-8 bytes of a string. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return fnv1a32Bytes(Buffer.from(text, "utf8"));
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

function fnv1a32Bytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** MurmurHash3's 32-bit finaliser: spreads FNV's weak low bits over the whole word. */
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The entity's routing bucket in [0, 10000): fmix32(FNV-1a-32(UTF-8(model + "\0" + entity_id)))
 * mod 10000. It depends on nothing but the model name and the entity id, so an entity stays on the
 * same side across requests, processes and restarts, and raising canary_percent only moves
 * entities from production to the canary, never back.
 */
export function routingBucket(model: string, entityId: string): number {
  return fmix32(fnv1a32(`${model}\u0000${entityId}`)) % ROUTING_BUCKETS;
}

/** Whether an entity belongs to the canary's share (canary_percent in 0–100). */
export function inCanaryShare(model: string, entityId: string, canaryPercent: number): boolean {
  if (!(canaryPercent > 0)) return false;
  if (canaryPercent >= 100) return true;
  return routingBucket(model, entityId) < Math.round(canaryPercent * (ROUTING_BUCKETS / 100));
}

/**
 * Chooses the answering deployment: the canary for its sticky share of entities when one is
 * loaded, production otherwise.
 */
export function chooseRoute(model: string, entityId: string, canary: { canaryPercent: number } | undefined): AnswerRoute {
  return canary !== undefined && inCanaryShare(model, entityId, canary.canaryPercent) ? "canary" : "production";
}
