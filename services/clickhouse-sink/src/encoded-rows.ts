import { createRowBinaryEncoder, RowBinaryWriter } from "@loopline/kit";
import type { Row } from "./rows.js";
import { columnsOf } from "./table-columns.js";

/** A piece of a table's RowBinary body: whole rows, `rows` of them. */
export interface EncodedRows {
  rows: number;
  bytes: Buffer;
}

const encoders = new Map<string, (writer: RowBinaryWriter, row: Row) => void>();

/**
 * One table's rows of one Kafka batch, encoded as they are mapped and cut into pieces of at most
 * `maxRows` rows, so the insert batcher can split an INSERT between pieces and never inside a row.
 */
export class TableBody {
  /** Write a row here, then call added(). */
  readonly writer: RowBinaryWriter;
  private readonly encode: (writer: RowBinaryWriter, row: Row) => void;
  private rows = 0;
  private readonly pieces: EncodedRows[] = [];

  constructor(
    readonly table: string,
    private readonly maxRows: number,
    initialBytes?: number,
  ) {
    this.writer = new RowBinaryWriter(initialBytes);
    let encode = encoders.get(table);
    if (encode === undefined) encoders.set(table, (encode = createRowBinaryEncoder(columnsOf(table))));
    this.encode = encode;
  }

  /** Appends a mapped row (the general path; predictions have a faster one that writes to `writer`). */
  add(row: Row): void {
    this.encode(this.writer, row);
    this.added();
  }

  /** Counts one row just written to `writer`. */
  added(): void {
    if (++this.rows >= this.maxRows) this.cut();
  }

  /** The pieces, once every row is written. */
  finish(): EncodedRows[] {
    this.cut();
    return this.pieces;
  }

  private cut(): void {
    if (this.rows === 0) return;
    this.pieces.push({ rows: this.rows, bytes: this.writer.take() });
    this.rows = 0;
  }
}
