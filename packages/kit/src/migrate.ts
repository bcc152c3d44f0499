import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execute, queryRows, serverVersion, type ClickHouse } from "./clickhouse.js";
import { LooplineError } from "./errors.js";
import type { Logger } from "./log.js";
import { quoteIdentifier, sql } from "./sql.js";

/**
 * Versioned ClickHouse migrations: files `NNNN_name.sql` in a folder, applied in order, each recorded
 * in `<database>.schema_migrations` with its checksum. Applying twice changes nothing. A file may
 * start with `-- requires: ttl` or `-- requires: datetime64`: it is applied only on a server that
 * has the feature (Debian's 18.16 has neither), and re-checked on every run so an upgraded server
 * picks it up. `{database}` in a file is replaced by the quoted database name.
 */

/** A server capability a migration can require. */
export type ClickHouseCapability = "ttl" | "datetime64" | "low_cardinality";

/** Capabilities by minimum server version [major, minor]. */
const CAPABILITY_SINCE: Record<ClickHouseCapability, [number, number]> = {
  ttl: [19, 6],
  datetime64: [20, 1],
  low_cardinality: [19, 3],
};

/** Whether a server version has a capability. */
export function hasCapability(version: readonly [number, number], cap: ClickHouseCapability): boolean {
  const [maj, min] = CAPABILITY_SINCE[cap];
  return version[0] > maj || (version[0] === maj && version[1] >= min);
}

/** A migration file parsed from disk. */
export interface Migration {
  version: number;
  name: string;
  checksum: string;
  requires: ClickHouseCapability[];
  statements: string[];
}

/** What a run did with each migration. */
export interface MigrationOutcome {
  version: number;
  name: string;
  status: "applied" | "already-applied" | "skipped-unsupported";
}

/** A migration folder or file that cannot be used (bad name, edited after it was applied). */
export class MigrationError extends LooplineError {
  override name = "MigrationError";
  constructor(message: string) {
    super("FAILED_PRECONDITION", message);
  }
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Splits SQL text into statements on `;` at line ends, dropping comment-only lines. */
export function splitStatements(text: string): string[] {
  return text
    .split(/;\s*(?:\r?\n|$)/)
    .map((s) =>
      s
        .split("\n")
        .filter((line) => !line.trim().startsWith("--"))
        .join("\n")
        .trim(),
    )
    .filter((s) => s !== "");
}

/** Reads and parses every migration in a folder, ordered by version. */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = FILE.exec(file);
    if (m === null) throw new MigrationError(`migration file ${file} must be named NNNN_name.sql`);
    const text = await readFile(join(dir, file), "utf8");
    const requires = [...text.matchAll(/^--\s*requires:\s*([a-z0-9_, ]+)$/gm)].flatMap((r) =>
      (r[1] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""),
    );
    for (const r of requires) {
      if (!(r in CAPABILITY_SINCE)) throw new MigrationError(`${file}: unknown capability "${r}"`);
    }
    const version = Number(m[1]);
    if (out.some((o) => o.version === version)) throw new MigrationError(`two migrations with version ${version}`);
    out.push({
      version,
      name: m[2] as string,
      checksum: createHash("sha256").update(text).digest("hex"),
      requires: requires as ClickHouseCapability[],
      statements: splitStatements(text),
    });
  }
  return out;
}

/** Options of applyMigrations. */
export interface ApplyMigrationsOptions {
  /** A client; the database need not exist yet. */
  client: ClickHouse;
  /** Target database, created when missing. */
  database: string;
  /** Folder with the NNNN_name.sql files. */
  dir: string;
  /** Progress lines. */
  logger: Logger;
}

/** Applies pending migrations in order and records them; returns what happened to each. */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<MigrationOutcome[]> {
  const { client, database, logger } = options;
  const db = quoteIdentifier(database);
  const migrations = await loadMigrations(options.dir);
  const version = await serverVersion(client);
  await execute(client, `CREATE DATABASE IF NOT EXISTS ${db}`);
  await execute(
    client,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, checksum String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version`,
  );
  const applied = new Map(
    (await queryRows<{ version: number; checksum: string }>(client, `SELECT version, checksum FROM ${db}.schema_migrations`)).map((r) => [
      Number(r.version),
      r.checksum,
    ]),
  );
  const outcomes: MigrationOutcome[] = [];
  for (const mig of migrations) {
    const done = applied.get(mig.version);
    if (done !== undefined) {
      if (done !== mig.checksum) {
        throw new MigrationError(
          `migration ${mig.version}_${mig.name} was changed after it was applied to ${database}; add a new migration instead`,
        );
      }
      outcomes.push({ version: mig.version, name: mig.name, status: "already-applied" });
      continue;
    }
    const missing = mig.requires.filter((c) => !hasCapability(version, c));
    if (missing.length > 0) {
      logger.info("migration skipped: server lacks a capability", { migration: `${mig.version}_${mig.name}`, missing, server: version.join(".") });
      outcomes.push({ version: mig.version, name: mig.name, status: "skipped-unsupported" });
      continue;
    }
    for (const statement of mig.statements) {
      await execute(client, statement.replaceAll("{database}", db));
    }
    await execute(
      client,
      `INSERT INTO ${db}.schema_migrations (version, name, checksum, applied_at) VALUES ${sql`(${mig.version}, ${mig.name}, ${mig.checksum}, ${new Date()})`}`,
    );
    logger.info("migration applied", { migration: `${mig.version}_${mig.name}`, database });
    outcomes.push({ version: mig.version, name: mig.name, status: "applied" });
  }
  return outcomes;
}
