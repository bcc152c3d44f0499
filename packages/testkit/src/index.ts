export { isolateStack, MIGRATIONS_DIR } from "./isolation.js";
export type { IsolatedStack, IsolateOptions } from "./isolation.js";
export { awaitStack, StackNotReadyError, stackEndpoints } from "./stack.js";
export type { StackEndpoints } from "./stack.js";
export { startPrivateRedis } from "./private-redis.js";
export type { PrivateRedis } from "./private-redis.js";
