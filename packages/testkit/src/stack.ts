import { createClickHouse, createKafka, createRedis, pingClickHouse, pingRedis, silentLogger } from "@loopline/kit";

/** Where the local stack (infra/local) listens; the same variables and defaults the services use. */
export interface StackEndpoints {
  kafkaBrokers: string[];
  redisUrl: string;
  clickhouseUrl: string;
}

/** Endpoints from the environment (LOOPLINE_KAFKA_BROKERS, LOOPLINE_REDIS_URL, LOOPLINE_CLICKHOUSE_URL) or defaults. */
export function stackEndpoints(env: Readonly<Record<string, string | undefined>> = process.env): StackEndpoints {
  const pick = (name: string, fallback: string) => (env[name]?.trim() ? (env[name] as string).trim() : fallback);
  return {
    kafkaBrokers: pick("LOOPLINE_KAFKA_BROKERS", "127.0.0.1:9092").split(",").map((s) => s.trim()),
    redisUrl: pick("LOOPLINE_REDIS_URL", "redis://127.0.0.1:6379"),
    clickhouseUrl: pick("LOOPLINE_CLICKHOUSE_URL", "http://127.0.0.1:8123"),
  };
}

/** The stack did not answer in time; the message says which server and how to start it. */
export class StackNotReadyError extends Error {
  override name = "StackNotReadyError";
}

/** Waits until Kafka, Redis and ClickHouse all answer, or throws naming the ones that do not. */
export async function awaitStack(options: { timeoutMs?: number; endpoints?: StackEndpoints } = {}): Promise<StackEndpoints> {
  const endpoints = options.endpoints ?? stackEndpoints();
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: "testkit-probe", logger: silentLogger, clientLogLevel: "error" });
  const redis = createRedis({ url: endpoints.redisUrl, logger: silentLogger });
  const clickhouse = createClickHouse({ url: endpoints.clickhouseUrl });
  try {
    let missing: string[] = [];
    while (Date.now() < deadline) {
      const [k, r, c] = await Promise.all([kafka.ping(), pingRedis(redis), pingClickHouse(clickhouse)]);
      missing = [!k && `kafka (${endpoints.kafkaBrokers.join(",")})`, !r && `redis (${endpoints.redisUrl})`, !c && `clickhouse (${endpoints.clickhouseUrl})`].filter(
        (x): x is string => x !== false,
      );
      if (missing.length === 0) return endpoints;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new StackNotReadyError(`local stack not reachable: ${missing.join(", ")}. Start it with \`make up\` (infra/local/stack.sh up).`);
  } finally {
    await Promise.allSettled([kafka.close(), clickhouse.close()]);
    redis.disconnect();
  }
}
