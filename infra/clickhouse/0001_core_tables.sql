-- Loopline's core tables. Written for Debian's ClickHouse 18.16 and current ClickHouse alike:
-- DateTime (seconds) plus a *_ms UInt64 column for millisecond precision, no TTL, no LowCardinality.
-- Every table is a ReplacingMergeTree keyed by the record's own identity and partitioned by the
-- record's own time, so a redelivered record collapses into its first copy (merge-time dedup; read
-- with FINAL or through the *_dedup views of a later migration for exact counts).

CREATE TABLE IF NOT EXISTS {database}.features (
  record_id String,
  entity String,
  entity_id String,
  view String,
  event_time DateTime,
  event_time_ms UInt64,
  revision UInt64,
  feature_names Array(String),
  feature_numbers Array(Float64),
  feature_strings Array(String),
  feature_statuses Array(UInt8),
  source_topic String,
  source_partition UInt32,
  source_offset UInt64,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (view, entity_id, event_time_ms, revision, record_id);

CREATE TABLE IF NOT EXISTS {database}.predictions (
  request_id String,
  time DateTime,
  time_ms UInt64,
  model String,
  model_version String,
  route String,
  entity_id String,
  feature_refs Array(String),
  feature_numbers Array(Float64),
  feature_strings Array(String),
  feature_statuses Array(UInt8),
  score Float64,
  decision UInt8,
  output_names Array(String),
  output_values Array(Float64),
  latency_us UInt32,
  degraded UInt8,
  source_partition UInt32,
  source_offset UInt64,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (model, model_version, route, request_id);

CREATE TABLE IF NOT EXISTS {database}.labels (
  label_id String,
  request_id String,
  entity_id String,
  event_time DateTime,
  event_time_ms UInt64,
  label Float64,
  label_time DateTime,
  label_time_ms UInt64,
  source_partition UInt32,
  source_offset UInt64,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(label_time)
ORDER BY (label_id);

CREATE TABLE IF NOT EXISTS {database}.drift_reports (
  report_id String,
  time DateTime,
  time_ms UInt64,
  model String,
  model_version String,
  route String,
  segment String,
  window_start DateTime,
  window_end DateTime,
  kind String,
  column String,
  method String,
  statistic Float64,
  p_value Float64,
  threshold Float64,
  drifted UInt8,
  n_reference UInt64,
  n_current UInt64,
  missing_share_reference Float64,
  missing_share_current Float64,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (model, model_version, kind, column, report_id);

CREATE TABLE IF NOT EXISTS {database}.model_events (
  sequence UInt64,
  time DateTime,
  time_ms UInt64,
  model String,
  model_version String,
  event_type String,
  stage_from String,
  stage_to String,
  actor String,
  reason String,
  evidence String,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (model, sequence);

CREATE TABLE IF NOT EXISTS {database}.dead_letters (
  source_topic String,
  source_partition UInt32,
  source_offset UInt64,
  time DateTime,
  service String,
  reason String,
  detail String,
  record_key String,
  record_value String,
  headers_json String,
  dlq_partition UInt32,
  dlq_offset UInt64,
  ingested_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (source_topic, source_partition, source_offset, dlq_partition, dlq_offset);
