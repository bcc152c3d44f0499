import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { startFolderServer, type ServerSpec } from "./server-process.js";

/**
 * A clickhouse-server of the test's own (Debian's binary, installed by infra/local) on free ports with
 * its own data folder, to kill and restart mid-test. Data survives a kill, as on a real server.
 */
export interface PrivateClickHouse {
  /** http://127.0.0.1:<httpPort> */
  url: string;
  httpPort: number;
  /** Kills the server (SIGKILL: an outage, not a clean stop) and waits until the port is closed. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it answers /ping. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

async function pinged(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return (await res.text()).trim() === "Ok.";
  } catch {
    return false;
  }
}

/** The last lines of the server's error log, for a start that failed. */
async function errorLogTail(dir: string): Promise<string> {
  const text = await readFile(join(dir, "server.err.log"), "utf8").catch(() => "");
  const lines = text.trimEnd().split("\n").slice(-5).join("\n");
  return lines === "" ? "(its error log is empty)" : lines;
}

/** How long a start may take: a cold start on a loaded 2-core machine takes several seconds. */
const START_TIMEOUT_MS = 90_000;

function serverBinary(): string {
  return existsSync("/usr/sbin/clickhouse-server") ? "/usr/sbin/clickhouse-server" : "clickhouse-server";
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><size>10M</size><count>1</count></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>${httpPort}</http_port>
    <tcp_port>${tcpPort}</tcp_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <path>${dir}/data/</path>
    <tmp_path>${dir}/data/tmp/</tmp_path>
    <user_files_path>${dir}/data/user_files/</user_files_path>
    <format_schema_path>${dir}/data/format_schemas/</format_schema_path>
    <users_config>${dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

/** Starts a private clickhouse-server on free ports; register `close` with t.after (done when `t` is given). */
export async function startPrivateClickHouse(t?: { after(fn: () => Promise<void>): void }): Promise<PrivateClickHouse> {
  const httpPort = await freePort();
  const tcpPort = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "loopline-clickhouse-"));
  await mkdir(join(dir, "data", "tmp"), { recursive: true });
  await writeFile(join(dir, "config.xml"), configXml(dir, httpPort, tcpPort));
  await writeFile(join(dir, "users.xml"), USERS_XML);
  const url = `http://127.0.0.1:${httpPort}`;
  const spec: ServerSpec = {
    name: `private clickhouse-server on ${httpPort}`,
    command: serverBinary(),
    args: [`--config-file=${join(dir, "config.xml")}`],
    // Relative paths in its config resolve against the working directory: run it from its folder.
    cwd: dir,
    ready: () => pinged(url),
    timeoutMs: START_TIMEOUT_MS,
    diagnose: async () => `${dir}/server.err.log ends:\n${await errorLogTail(dir)}`,
  };
  const server = await startFolderServer(spec, dir, t);
  return { url, httpPort, ...server };
}
