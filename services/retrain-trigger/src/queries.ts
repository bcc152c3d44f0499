import { ident, sql } from "@loopline/kit";

/** The route names the predictions table stores (PredictionRecord.route in lower case). */
export const ROUTE_TEXT = { production: "production", canary: "canary", shadow: "shadow" } as const;

/** What the training-set query selects. */
export interface TrainingQuery {
  readonly database: string;
  readonly model: string;
  /** [fromMs, toMs) on predictions.time_ms. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Keep a request when cityHash64(request_id) falls in this share (deterministic sampling). */
  readonly sampleRate: number;
  readonly maxRows: number;
}

// Predictions with their labels come from the `labelled_predictions` view (infra/clickhouse/0002):
// deduplicated predictions joined to deduplicated labels, by request_id, or by entity_id + event time
// (the entity's latest prediction at or before the labelled event) — without ASOF JOIN, which 18.16
// lacks. A request may carry several labels: the latest label_time wins. Values are literals rendered
// by the kit's `sql` helper (18.16 has no query parameters). Aggregates get p_* aliases: ClickHouse
// substitutes aliases everywhere, so `any(time_ms) AS time_ms` would leak into WHERE.

const SAMPLE_SCALE = 1_000_000;

/**
 * Log-and-wait training set: production predictions of the model in the range, with the features as
 * they were served, and their labels. The text is recorded as lineage, so the set can be rebuilt by
 * running it again (it is deterministic: sampling by request-id hash, ordered output).
 */
export function trainingSetSql(q: TrainingQuery): string {
  const threshold = Math.round(q.sampleRate * SAMPLE_SCALE);
  return [
    "SELECT request_id, p_time_ms AS time_ms, p_refs AS feature_refs, p_numbers AS feature_numbers, p_strings AS feature_strings, p_statuses AS feature_statuses, p_label AS label FROM (",
    "  SELECT request_id, any(time_ms) AS p_time_ms, any(feature_refs) AS p_refs, any(feature_numbers) AS p_numbers, any(feature_strings) AS p_strings, any(feature_statuses) AS p_statuses, argMax(label, label_time) AS p_label",
    sql`  FROM ${ident(q.database)}.labelled_predictions`,
    sql`  WHERE model = ${q.model} AND route = ${ROUTE_TEXT.production} AND time_ms >= ${q.fromMs} AND time_ms < ${q.toMs}`,
    sql`    AND cityHash64(request_id) % ${SAMPLE_SCALE} < ${threshold}`,
    "  GROUP BY request_id",
    sql`  ORDER BY p_time_ms, request_id LIMIT ${q.maxRows}`,
    ")",
  ].join("\n");
}

/** Shadow evidence: the champion's and the challenger's scores on the same labelled requests. */
export function shadowPairsSql(database: string, model: string, champion: string, challenger: string, sinceMs: number): string {
  return [
    "SELECT p_champion AS champion, p_challenger AS challenger, p_label AS label FROM (",
    sql`  SELECT request_id, any(score) AS p_champion, argMax(label, label_time) AS p_label FROM ${ident(database)}.labelled_predictions`,
    sql`  WHERE model = ${model} AND model_version = ${champion} AND route = ${ROUTE_TEXT.production} AND time_ms >= ${sinceMs} GROUP BY request_id`,
    ") ANY INNER JOIN (",
    sql`  SELECT request_id, any(score) AS p_challenger FROM ${ident(database)}.predictions_dedup`,
    sql`  WHERE model = ${model} AND model_version = ${challenger} AND route = ${ROUTE_TEXT.shadow} AND time_ms >= ${sinceMs} GROUP BY request_id`,
    ") USING request_id",
    "ORDER BY request_id",
  ].join("\n");
}

/** Scores and labels of one version on one route since a time (canary comparison). */
export function routeScoresSql(database: string, model: string, version: string, route: string, sinceMs: number): string {
  return [
    "SELECT p_score AS score, p_label AS label FROM (",
    sql`  SELECT request_id, any(score) AS p_score, argMax(label, label_time) AS p_label FROM ${ident(database)}.labelled_predictions`,
    sql`  WHERE model = ${model} AND model_version = ${version} AND route = ${route} AND time_ms >= ${sinceMs} GROUP BY request_id`,
    ")",
  ].join("\n");
}

/** Predictions and degraded ones of a version on a route since a time (rollback's error signal). */
export function degradedSql(database: string, model: string, version: string, route: string, sinceMs: number): string {
  return sql`SELECT count() AS predictions, sum(degraded) AS degraded FROM ${ident(database)}.predictions_dedup WHERE model = ${model} AND model_version = ${version} AND route = ${route} AND time_ms >= ${sinceMs}`;
}
