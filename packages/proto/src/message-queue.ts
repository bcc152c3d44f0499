/** Options of a MessageQueue. */
export interface MessageQueueOptions {
  /** Buffered messages at which `onFull` is called so the producer can pause. Default: 16. */
  readonly highWaterMark?: number;
  /** Called when the buffer reaches the high-water mark. Default: nothing. */
  readonly onFull?: () => void;
  /** Called when a full buffer has been drained below half the mark. Default: nothing. */
  readonly onDrained?: () => void;
  /** Called once when the consumer stops iterating before the queue ended. Default: nothing. */
  readonly onAbandon?: () => void;
}

/**
 * A single-consumer async queue that turns push-style events (a grpc-js stream's data/end/error)
 * into an AsyncIterable, with pause/resume hooks for backpressure. Internal to this package.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private state: "open" | "closed" | "failed" = "open";
  private failure: unknown;
  private waiter: { resolve: () => void } | undefined;
  private full = false;
  private iterating = false;
  private readonly highWaterMark: number;

  constructor(private readonly options: MessageQueueOptions = {}) {
    this.highWaterMark = options.highWaterMark ?? 16;
  }

  /** Adds a message; ignored once the queue has ended. */
  push(value: T): void {
    if (this.state !== "open") {
      return;
    }
    this.buffer.push(value);
    if (!this.full && this.buffer.length >= this.highWaterMark) {
      this.full = true;
      this.options.onFull?.();
    }
    this.wake();
  }

  /** Ends the queue normally: the consumer sees the buffered messages, then the end. */
  close(): void {
    if (this.state === "open") {
      this.state = "closed";
      this.wake();
    }
  }

  /** Ends the queue with an error: the consumer sees the buffered messages, then the error. */
  fail(error: unknown): void {
    if (this.state === "open") {
      this.state = "failed";
      this.failure = error;
      this.wake();
    }
  }

  /** Whether close() or fail() was called. */
  get ended(): boolean {
    return this.state !== "open";
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    if (this.iterating) {
      throw new TypeError("a message stream can be iterated only once");
    }
    this.iterating = true;
    let finished = false;
    try {
      for (;;) {
        const next = this.buffer.shift();
        if (next !== undefined) {
          if (this.full && this.buffer.length <= this.highWaterMark / 2) {
            this.full = false;
            this.options.onDrained?.();
          }
          yield next;
          continue;
        }
        if (this.state === "closed") {
          finished = true;
          return;
        }
        if (this.state === "failed") {
          finished = true;
          throw this.failure;
        }
        await new Promise<void>((resolve) => {
          this.waiter = { resolve };
        });
      }
    } finally {
      if (!finished) {
        this.state = "closed";
        this.buffer.length = 0;
        this.options.onAbandon?.();
      }
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }
}
