import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import type { KafkaKit, KafkaProducer, Logger, TopicSpec } from "@loopline/kit";
import { PredictionRecordSchema, type PredictionRecord } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import type { InferenceMetrics } from "./inference-metrics.js";
import { encodePredictionRecord } from "./record-encoding.js";

/** Where prediction records go once batched. */
export interface PredictionSink {
  /** Publishes records durably; throws to have them kept and retried. */
  send(records: readonly PredictionRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** A sink publishing protobuf PredictionRecords keyed by entity_id through the kit's producer. */
export function createKafkaPredictionSink(kafka: KafkaKit, spec: TopicSpec): PredictionSink {
  const topic = spec.topic;
  let producer: Promise<KafkaProducer> | undefined;
  const connect = (): Promise<KafkaProducer> => {
    // The topic is made on first use, with the producer: a Kafka outage at start-up must not stop
    // answers, and records wait in the log's buffer until both exist.
    producer ??= kafka
      .ensureTopics([spec])
      .then(() => kafka.createProducer())
      .catch((err: unknown) => {
        producer = undefined; // retried on the next send
        throw err;
      });
    return producer;
  };
  return {
    async send(records) {
      const p = await connect();
      await p.send(
        topic,
        records.map((r) => ({ key: r.entityId, value: encodePredictionRecord(r), timestamp: Number(r.timeMs) })),
      );
    },
    async close() {
      const p = producer;
      producer = undefined;
      if (p !== undefined) await (await p.catch(() => undefined))?.close();
    },
  };
}

/** Options of createPredictionLog. */
export interface PredictionLogOptions {
  sink: PredictionSink;
  logger: Logger;
  metrics: InferenceMetrics;
  /** Most records waiting; beyond it new records are dropped, counted and logged. */
  bufferSize: number;
  /** Most records per publish. */
  batchSize: number;
  /** Longest a record waits for a batch to fill, ms. */
  flushIntervalMs: number;
}

/** The asynchronous, bounded prediction log. */
export interface PredictionLog {
  /** Queues a record; never blocks and never throws. */
  append(record: PredictionRecord): void;
  /** Records waiting. */
  readonly buffered: number;
  /** Publishes what is buffered (up to a deadline), then stops. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Buffers records in memory and publishes them in batches in the background, so an answer never
 * waits for Kafka. When Kafka is away, records wait (in order) and publishing retries with backoff;
 * past `bufferSize` new records are dropped, counted in
 * loopline_inference_prediction_log_dropped_total and logged at error level.
 */
export function createPredictionLog(options: PredictionLogOptions): PredictionLog {
  const log = options.logger.child({ component: "prediction-log" });
  const buffer: PredictionRecord[] = [];
  let closing = false;
  let wake: (() => void) | undefined;
  let droppedSinceReport = 0;
  let lastDropReport = 0;

  const loop = (async () => {
    let backoff = 100;
    while (!closing || buffer.length > 0) {
      if (buffer.length < options.batchSize && !closing) {
        await Promise.race([sleep(options.flushIntervalMs), new Promise<void>((resolve) => (wake = resolve))]);
        wake = undefined;
      }
      if (buffer.length === 0) continue;
      const batch = buffer.slice(0, options.batchSize);
      try {
        await options.sink.send(batch);
        buffer.splice(0, batch.length);
        options.metrics.logPublished.inc(batch.length);
        options.metrics.logBuffered.set(buffer.length);
        backoff = 100;
      } catch (err) {
        options.metrics.logPublishFailures.inc();
        log.warn("prediction records not published; kept and retried", { buffered: buffer.length, retryInMs: backoff, err });
        if (closing) return; // close() decides how long to keep trying
        await sleep(backoff);
        backoff = Math.min(5000, backoff * 2);
      }
    }
  })();

  return {
    append(record) {
      if (buffer.length >= options.bufferSize) {
        options.metrics.logDropped.inc();
        droppedSinceReport++;
        const now = Date.now();
        if (now - lastDropReport > 10_000) {
          log.error("prediction log buffer full: records DROPPED (Kafka unreachable or too slow)", { dropped: droppedSinceReport, bufferSize: options.bufferSize });
          lastDropReport = now;
          droppedSinceReport = 0;
        }
        return;
      }
      buffer.push(record);
      if (buffer.length >= options.batchSize) wake?.();
    },
    get buffered() {
      return buffer.length;
    },
    async close(graceMs = 10_000) {
      closing = true;
      wake?.();
      const deadline = Date.now() + graceMs;
      await loop;
      // The loop stops at the first failure while closing; retry until the grace period is over.
      while (buffer.length > 0 && Date.now() < deadline) {
        const batch = buffer.slice(0, options.batchSize);
        try {
          await options.sink.send(batch);
          buffer.splice(0, batch.length);
          options.metrics.logPublished.inc(batch.length);
        } catch {
          await sleep(200);
        }
      }
      if (buffer.length > 0) log.error("prediction records LOST at shutdown: Kafka unreachable", { lost: buffer.length });
      options.metrics.logBuffered.set(buffer.length);
      await options.sink.close();
    },
  };
}

/** Builds a record (protobuf-es message) from its fields. */
export function predictionRecord(init: Parameters<typeof create<typeof PredictionRecordSchema>>[1]): PredictionRecord {
  return create(PredictionRecordSchema, init);
}
