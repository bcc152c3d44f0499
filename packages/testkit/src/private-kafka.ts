import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "./ports.js";
import { startFolderServer, type ServerSpec } from "./server-process.js";

/**
 * A single-node KRaft Kafka broker of the test's own, from the jars infra/local fetched from Maven
 * Central, on free ports with its own log folder, to kill and restart mid-test. What it acknowledged
 * survives a kill, as on a real broker.
 */
export interface PrivateKafka {
  /** ["127.0.0.1:<port>"] */
  brokers: string[];
  /** Kills the broker (SIGKILL: an outage, not a clean stop) and waits until it no longer answers. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and logs; resolves once it answers metadata requests. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
/** A JVM start, storage recovery after a kill and the controller's election take a few seconds. */
const START_TIMEOUT_MS = 90_000;

/** The libs folder of the Kafka infra/local installed (LOOPLINE_HOME/cache/kafka-<version>/libs). */
function kafkaLibs(): string {
  const home = process.env["LOOPLINE_HOME"]?.trim() || join(REPO, ".loopline");
  const cache = join(home, "cache");
  const want = process.env["LOOPLINE_KAFKA_VERSION"]?.trim();
  const found = (() => {
    try {
      return readdirSync(cache).filter((d) => d.startsWith("kafka-") && (want === undefined || want === "" || d === `kafka-${want}`));
    } catch {
      return [];
    }
  })();
  const dir = found.sort().at(-1);
  if (dir === undefined) throw new Error(`no Kafka jars under ${cache}: run \`make up\` (infra/local/stack.sh up kafka) once to fetch them`);
  return join(cache, dir, "libs");
}

function java(): string {
  const home = process.env["JAVA_HOME"]?.trim();
  return home ? join(home, "bin", "java") : "java";
}

function serverProperties(dir: string, port: number, controllerPort: number): string {
  // The settings of infra/local's broker that matter to a test, scaled down for a second JVM.
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    "inter.broker.listener.name=PLAINTEXT",
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    `log.dirs=${dir}/data`,
    "num.partitions=3",
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=3",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    // After a kill the restarted broker registers only once its old session has expired.
    "broker.heartbeat.interval.ms=1000",
    "broker.session.timeout.ms=5000",
    "num.network.threads=1",
    "num.io.threads=2",
    "num.recovery.threads.per.data.dir=1",
    "",
  ].join("\n");
}

/** True when the broker answers a metadata request (kcat, installed by infra/local with Kafka). */
async function answers(broker: string): Promise<boolean> {
  try {
    const { stdout } = await run("kcat", ["-L", "-b", broker, "-m", "2"], { timeout: 5000 });
    return stdout.includes(" 1 brokers:");
  } catch {
    return false;
  }
}

/**
 * Starts a private Kafka broker on free ports; `close` runs after the test when `t` is given. A
 * test that closes kafkajs clients of the broker after the test registers them and `close` with
 * cleanupInReverse instead, so the broker stops after them.
 */
export async function startPrivateKafka(t?: { after(fn: () => Promise<void>): void }): Promise<PrivateKafka> {
  const libs = kafkaLibs();
  const port = await freePort();
  const controllerPort = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "loopline-kafka-"));
  await mkdir(join(dir, "logs"));
  const config = join(dir, "server.properties");
  await writeFile(config, serverProperties(dir, port, controllerPort));
  const jvm = [
    "-Xms256m",
    "-Xmx256m",
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    `-Dkafka.logs.dir=${dir}/logs`,
    `-Dlog4j2.configurationFile=${join(REPO, "infra/local/kafka/log4j2.xml")}`,
    "-cp",
    `${libs}/*`,
  ];
  // A cluster id like `kafka-storage.sh random-uuid` prints (16 random bytes in URL-safe base64),
  // its first character fixed to a letter: an id starting with '-' would read as an option.
  const clusterId = `A${randomBytes(16).toString("base64url").slice(1, 22)}`;
  await run(java(), [...jvm, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config], { timeout: 60_000 }).catch((err: unknown) => {
    throw new Error(`formatting the private Kafka's storage failed: ${err instanceof Error ? err.message : String(err)}`);
  });
  const broker = `127.0.0.1:${port}`;
  const spec: ServerSpec = {
    name: `private kafka on ${port}`,
    command: java(),
    args: [...jvm, "kafka.Kafka", config],
    ready: () => answers(broker),
    timeoutMs: START_TIMEOUT_MS,
    diagnose: async () => {
      const log = await readFile(join(dir, "logs", "server.log"), "utf8").catch(() => "");
      return log.trimEnd().split("\n").slice(-8).join("\n") || "(its server.log is empty)";
    },
  };
  const server = await startFolderServer(spec, dir, t);
  return { brokers: [broker], ...server };
}
