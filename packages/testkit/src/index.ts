export { isolateStack, MIGRATIONS_DIR } from "./isolation.js";
export type { IsolatedStack, IsolateOptions } from "./isolation.js";
export { awaitStack, StackNotReadyError, stackEndpoints } from "./stack.js";
export type { StackEndpoints } from "./stack.js";
export { startPrivateRedis } from "./private-redis.js";
export type { PrivateRedis } from "./private-redis.js";
export { startPrivateClickHouse } from "./private-clickhouse.js";
export type { PrivateClickHouse } from "./private-clickhouse.js";
