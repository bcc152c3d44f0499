import { allocate, copyInto, elementCount, sliceView, type ElementType, type HostTensor, type TensorData } from "./tensor.js";

/** What one coalesced run did, for metrics. */
export interface RunStats {
  /** Rows in the run (all coalesced requests together). */
  readonly batchRows: number;
  /** Requests coalesced into the run. */
  readonly requests: number;
  /** Time the run took, seconds. */
  readonly computeSeconds: number;
  /** How long each coalesced request waited before the run, seconds. */
  readonly queueSeconds: readonly number[];
}

/** One request's share of a run. */
export interface BatchResult {
  /** Outputs in the model's output order, this request's rows only. */
  readonly outputs: readonly HostTensor[];
  /** Time between submit and the start of the run, seconds. */
  readonly queueSeconds: number;
  /** Duration of the run this request was part of, seconds. */
  readonly computeSeconds: number;
}

/** Options of createBatcher. */
export interface BatcherOptions {
  /** Input element types in the model's input order. */
  inputTypes: readonly ElementType[];
  /** Whether requests may be concatenated along dimension 0 (every input and output is batch-first and open). */
  batchable: boolean;
  /** Most rows in one run (Triton's max_batch_size). */
  maxBatchSize: number;
  /** Longest the first queued request waits for company, microseconds; below 1000 one event-loop turn. */
  maxQueueDelayUs: number;
  /** Runs the model on whole-batch inputs (model input order) and returns outputs in model output order. */
  run: (inputs: readonly HostTensor[]) => Promise<readonly HostTensor[]>;
  /** Told about every run (metrics). Default: nothing. */
  onRun?: (stats: RunStats) => void;
}

/** A dynamic batcher for one model version, like Triton's: concurrent requests share one run. */
export interface Batcher {
  /**
   * Queues a request: `inputs[i]` is the data of input i with full shape `dims[i]` (dims[i][0] = rows).
   * Rejects with the signal's reason when it aborts before the run starts; once running, a request
   * completes (onnxruntime cannot be interrupted).
   */
  submit(inputs: readonly TensorData[], dims: readonly (readonly number[])[], signal?: AbortSignal): Promise<BatchResult>;
  /** Changes limits for later batches (a SERVING_CONFIG_SET event). */
  configure(limits: { maxBatchSize: number; maxQueueDelayUs: number }): void;
  /** Requests queued and not yet running. */
  readonly queued: number;
}

interface Job {
  rows: number;
  inputs: readonly TensorData[];
  dims: readonly (readonly number[])[];
  /** Jobs with equal keys have equal non-batch dimensions and can share a run; "" = never shares. */
  key: string;
  enqueuedAt: number;
  signal: AbortSignal | undefined;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
}

const now = (): number => performance.now();

/** Creates a batcher; one run at a time (onnxruntime-node runs on the calling thread anyway). */
export function createBatcher(options: BatcherOptions): Batcher {
  let maxBatchSize = options.maxBatchSize;
  let maxQueueDelayUs = options.maxQueueDelayUs;
  const queue: Job[] = [];
  let running = false;
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;

  const fire = (): void => {
    scheduled = false;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    void drain();
  };
  const schedule = (immediate: boolean): void => {
    if (running) return; // the running drain loop picks new requests up as soon as the run ends
    if (scheduled && !(immediate && timer !== undefined)) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    scheduled = true;
    // Below a millisecond, timers are too coarse: one turn of the event loop collects every request
    // that arrived in the same I/O poll, which is what coalescing needs.
    if (immediate || maxQueueDelayUs < 1000) setImmediate(fire);
    else timer = setTimeout(fire, maxQueueDelayUs / 1000);
  };

  const takeBatch = (): Job[] => {
    const batch: Job[] = [];
    let rows = 0;
    for (let i = 0; i < queue.length; ) {
      const job = queue[i] as Job;
      if (job.signal?.aborted === true) {
        queue.splice(i, 1);
        job.reject(job.signal.reason);
        continue;
      }
      const head = batch[0];
      const fits =
        head === undefined || (options.batchable && job.key !== "" && job.key === head.key && rows + job.rows <= maxBatchSize);
      if (fits) {
        batch.push(job);
        rows += job.rows;
        queue.splice(i, 1);
        if (!options.batchable) break;
        continue;
      }
      i++;
    }
    return batch;
  };

  // Hot path: every ModelInfer/Predict goes through here (bench/inference.bench.ts, "ModelInfer
  // batch 1" and "PredictBatch 512 entities"): one concatenation per input, one run, views on the way out.
  const drain = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const batch = takeBatch();
        if (batch.length === 0) break;
        await runBatch(batch);
      }
    } finally {
      running = false;
    }
  };

  const runBatch = async (batch: readonly Job[]): Promise<void> => {
    const first = batch[0] as Job;
    let inputs: HostTensor[];
    let total = 0;
    for (const job of batch) total += job.rows;
    if (batch.length === 1) {
      inputs = first.inputs.map((data, i) => ({ type: options.inputTypes[i] as ElementType, data, dims: first.dims[i] as number[] }));
    } else {
      inputs = options.inputTypes.map((type, i) => {
        const tail = (first.dims[i] as number[]).slice(1);
        const perRow = elementCount(tail);
        const data = allocate(type, total * perRow);
        let offset = 0;
        for (const job of batch) {
          copyInto(data, job.inputs[i] as TensorData, offset);
          offset += job.rows * perRow;
        }
        return { type, data, dims: [total, ...tail] };
      });
    }
    const started = now();
    let outputs: readonly HostTensor[];
    try {
      outputs = await options.run(inputs);
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    const computeSeconds = (now() - started) / 1000;
    options.onRun?.({ batchRows: total, requests: batch.length, computeSeconds, queueSeconds: batch.map((job) => (started - job.enqueuedAt) / 1000) });
    if (batch.length === 1) {
      first.resolve({ outputs, queueSeconds: (started - first.enqueuedAt) / 1000, computeSeconds });
      return;
    }
    let row = 0;
    for (const job of batch) {
      const mine = outputs.map((out) => {
        const perRow = out.dims[0] === total ? elementCount(out.dims.slice(1)) : 0;
        return { type: out.type, data: sliceView(out.data, row * perRow, (row + job.rows) * perRow), dims: [job.rows, ...out.dims.slice(1)] };
      });
      row += job.rows;
      job.resolve({ outputs: mine, queueSeconds: (started - job.enqueuedAt) / 1000, computeSeconds });
    }
  };

  return {
    submit(inputs, dims, signal) {
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
      const rows = dims[0]?.[0] ?? 1;
      const key = options.batchable ? dims.map((d) => d.slice(1).join("x")).join("|") : "";
      return new Promise<BatchResult>((resolve, reject) => {
        queue.push({ rows, inputs, dims, key, enqueuedAt: now(), signal, resolve, reject });
        const full = options.batchable && rows >= maxBatchSize;
        schedule(full);
      });
    },
    configure(limits) {
      maxBatchSize = limits.maxBatchSize;
      maxQueueDelayUs = limits.maxQueueDelayUs;
    },
    get queued() {
      return queue.length;
    },
  };
}

