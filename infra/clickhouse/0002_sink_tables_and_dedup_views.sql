-- What clickhouse-sink needs beyond 0001: a few columns, tables for the opt-in topics (raw events,
-- retrain decisions), and the read side of idempotency. The sink is at-least-once: a batch retried
-- after a crash or an outage is inserted again. Every table is a ReplacingMergeTree keyed by the
-- record's identity and partitioned by the record's own time, so copies collapse when parts merge;
-- until then the *_dedup views below give exact answers (FINAL merges at read time, within a
-- partition, which is where every copy of a record lives). Query the views, not the tables.

ALTER TABLE {database}.model_events ADD COLUMN alias String, ADD COLUMN snapshot_json String;

-- 'utf8' when record_value holds the original bytes as text, 'base64' when they were not UTF-8.
ALTER TABLE {database}.dead_letters ADD COLUMN value_encoding String DEFAULT 'utf8' AFTER record_value;

CREATE TABLE IF NOT EXISTS {database}.events (
  event_id String,
  entity String,
  entity_id String,
  event_time DateTime,
  event_time_ms UInt64,
  type String,
  fields_json String,
  source_partition UInt32,
  source_offset UInt64,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (entity, entity_id, event_id);

CREATE TABLE IF NOT EXISTS {database}.retrain_decisions (
  decision_id String,
  time DateTime,
  time_ms UInt64,
  model String,
  model_version String,
  policy String,
  action String,
  reason String,
  evidence String,
  challenger_version String,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (model, decision_id);

CREATE VIEW IF NOT EXISTS {database}.features_dedup AS SELECT * FROM {database}.features FINAL;

CREATE VIEW IF NOT EXISTS {database}.predictions_dedup AS SELECT * FROM {database}.predictions FINAL;

CREATE VIEW IF NOT EXISTS {database}.drift_reports_dedup AS SELECT * FROM {database}.drift_reports FINAL;

CREATE VIEW IF NOT EXISTS {database}.model_events_dedup AS SELECT * FROM {database}.model_events FINAL;

CREATE VIEW IF NOT EXISTS {database}.dead_letters_dedup AS SELECT * FROM {database}.dead_letters FINAL;

CREATE VIEW IF NOT EXISTS {database}.events_dedup AS SELECT * FROM {database}.events FINAL;

CREATE VIEW IF NOT EXISTS {database}.retrain_decisions_dedup AS SELECT * FROM {database}.retrain_decisions FINAL;

-- Labels: one row per label_id, the latest label_time winning. A correction may carry a label_time
-- in another month (another partition), which FINAL would not collapse, hence GROUP BY.
CREATE VIEW IF NOT EXISTS {database}.labels_dedup AS
SELECT
  label_id,
  argMax(request_id, version) AS request_id,
  argMax(entity_id, version) AS entity_id,
  argMax(event_time, version) AS event_time,
  argMax(event_time_ms, version) AS event_time_ms,
  argMax(label, version) AS label,
  argMax(label_time, version) AS label_time,
  max(version) AS label_time_ms
FROM (SELECT *, label_time_ms AS version FROM {database}.labels)
GROUP BY label_id;

-- Every prediction that has a label. A label with request_id labels the predictions of that request
-- (the answer and its shadows); a label with entity_id and event_time labels, per model version and
-- route, the entity's latest prediction at or before event_time. ClickHouse 18.16 has no ASOF JOIN:
-- the inner query joins the (small) label set onto predictions by entity, keeps predictions at or
-- before the event, and picks the latest per label and version with argMax.
CREATE VIEW IF NOT EXISTS {database}.labelled_predictions AS
SELECT
  request_id, time, time_ms, model, model_version, route, entity_id,
  feature_refs, feature_numbers, feature_strings, feature_statuses,
  score, decision, latency_us, degraded,
  label_id, label, label_event_time, label_time, 'request_id' AS matched_by
FROM {database}.predictions_dedup
ALL INNER JOIN (
  SELECT request_id, label_id, label, event_time AS label_event_time, label_time
  FROM {database}.labels_dedup
  WHERE request_id != ''
) USING request_id
UNION ALL
SELECT
  request_id, time, time_ms, model, model_version, route, entity_id,
  feature_refs, feature_numbers, feature_strings, feature_statuses,
  score, decision, latency_us, degraded,
  label_id, label, label_event_time, label_time, 'entity_time' AS matched_by
FROM {database}.predictions_dedup
ALL INNER JOIN (
  SELECT
    model, model_version, route,
    argMax(p_request_id, p_time_ms) AS request_id,
    label_id,
    any(l_label) AS label,
    any(l_event_time) AS label_event_time,
    any(l_label_time) AS label_time
  FROM (
    SELECT entity_id, request_id AS p_request_id, time_ms AS p_time_ms, model, model_version, route
    FROM {database}.predictions_dedup
  )
  ALL INNER JOIN (
    SELECT entity_id, label_id, label AS l_label, event_time AS l_event_time, event_time_ms AS l_event_time_ms, label_time AS l_label_time
    FROM {database}.labels_dedup
    WHERE request_id = '' AND entity_id != ''
  ) USING entity_id
  WHERE p_time_ms <= l_event_time_ms
  GROUP BY label_id, model, model_version, route
) USING (model, model_version, route, request_id);
