import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { test } from "node:test";

// The kafkajs patch (patches/kafkajs@2.2.4.patch) encodes uncompressed produce batches in one pass
// (src/protocol/requests/produce/v3/fastPartition.js). The reference is kafkajs' own stock encoders,
// Record and RecordBatch, composed exactly as its produce request composes them.
const require = createRequire(import.meta.url);
const base = dirname(require.resolve("kafkajs/package.json"));
type Encoder = { buffer: Buffer; size(): number; writeInt32(n: number): Encoder; writeEncoder(e: Encoder): Encoder };
const EncoderClass = require(`${base}/src/protocol/encoder`) as new () => Encoder;
const Record = require(`${base}/src/protocol/recordBatch/record/v0`) as (r: object) => Encoder;
const { RecordBatch } = require(`${base}/src/protocol/recordBatch/v0`) as { RecordBatch: (b: object) => Promise<Encoder> };
const Long = require(`${base}/src/utils/long`) as { fromValue(v: unknown): unknown; fromInt(n: number): unknown };
const fastPartition = require(`${base}/src/protocol/requests/produce/v3/fastPartition.js`) as (args: object) => Encoder | undefined;
const DecoderClass = require(`${base}/src/protocol/decoder`) as new (buffer: Buffer) => object;
const decodeRecordBatch = require(`${base}/src/protocol/recordBatch/v0/decoder`) as (d: object) => Promise<{ records: DecodedRecord[] }>;

interface DecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

interface Message {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
  timestamp?: number;
}

async function stock(partition: number, messages: Message[], opts: { transactional: boolean; firstSequence?: number; producerId: unknown; producerEpoch: number; dateNow: number }) {
  const timestamps = messages.map((m) => m.timestamp).filter((t) => t != null).sort();
  const all = timestamps.length === 0 ? [opts.dateNow] : timestamps;
  const firstTimestamp = all[0] as number;
  const records = messages.map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: (m.timestamp || opts.dateNow) - firstTimestamp }));
  const batch = await RecordBatch({
    records,
    firstTimestamp,
    maxTimestamp: all[all.length - 1],
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    firstSequence: opts.firstSequence,
    transactional: opts.transactional,
    lastOffsetDelta: records.length - 1,
  });
  const entry = new EncoderClass().writeInt32(partition).writeInt32(batch.size()).writeEncoder(batch);
  return { bytes: entry.buffer, firstTimestamp, maxTimestamp: all[all.length - 1] };
}

const dateNow = 1_763_800_000_000;
const cases: { name: string; messages: Message[]; transactional?: boolean; firstSequence?: number; producerId?: unknown; producerEpoch?: number }[] = [
  { name: "one record, string key and value, no headers", messages: [{ key: "card-1", value: "hello" }] },
  { name: "Buffer values with a content-type header (feature-ingest's records)", messages: Array.from({ length: 300 }, (_, i) => ({ key: Buffer.from(`card-${i}`), value: Buffer.alloc(100 + i * 3, i), headers: { "content-type": Buffer.from("application/x-protobuf") } })) },
  { name: "null key and value, unicode, repeated header values", messages: [{ key: null, value: null }, { key: "ünï ✓", value: "ça va", headers: { a: ["1", Buffer.from("2")], "clé": "v" } }] },
  { name: "explicit timestamps, idempotent producer", messages: [{ key: "a", value: "x", timestamp: dateNow + 5 }, { key: "b", value: "y", timestamp: dateNow - 3_000 }, { key: "c", value: "z" }], firstSequence: 4242, producerId: Long.fromValue(987654321012), producerEpoch: 3 },
  { name: "transactional, long values (multi-byte lengths)", messages: [{ key: "k", value: Buffer.alloc(70_000, 7) }, { key: "k2", value: "v".repeat(200) }], transactional: true, firstSequence: 1, producerId: Long.fromValue(5), producerEpoch: 1 },
  { name: "70 headers on one record (header count over one varint byte)", messages: [{ key: "k", value: "v", headers: Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`h${i}`, `v${i}`])) }] },
];

test("the one-pass produce batch encoder writes the bytes kafkajs' stock encoders write", async () => {
  for (const c of cases) {
    const opts = { transactional: c.transactional ?? false, producerId: c.producerId ?? Long.fromInt(-1), producerEpoch: c.producerEpoch ?? 0, dateNow, ...(c.firstSequence !== undefined ? { firstSequence: c.firstSequence } : {}) };
    const ref = await stock(7, c.messages, opts);
    const fast = fastPartition({ partition: 7, messages: c.messages, ...opts, firstTimestamp: ref.firstTimestamp, maxTimestamp: ref.maxTimestamp });
    assert.ok(fast !== undefined, c.name);
    assert.deepEqual(fast.buffer, ref.bytes, c.name);
  }
});

test("timestamps too far apart for the one-pass encoder leave the batch to the stock path", () => {
  const messages = [{ key: "a", value: "x", timestamp: dateNow }, { key: "b", value: "y", timestamp: dateNow + 2 ** 31 }];
  assert.equal(fastPartition({ partition: 0, messages, transactional: false, producerId: Long.fromInt(-1), producerEpoch: 0, dateNow, firstTimestamp: dateNow, maxTimestamp: dateNow + 2 ** 31 }), undefined);
});

// The patch also decodes record offsets and timestamps with Number arithmetic where they are safe
// integers, and builds headers without a copy per header. The reference values are computed here
// with BigInt from what was encoded.
async function decodeWithFirstOffset(entry: Buffer, firstOffset: bigint): Promise<DecodedRecord[]> {
  const batch = Buffer.from(entry.subarray(8)); // past partition and record set size
  batch.writeBigInt64BE(firstOffset, 0); // the broker assigns offsets; the CRC does not cover this field
  return (await decodeRecordBatch(new DecoderClass(batch))).records;
}

test("records decode with the offsets, timestamps, keys, values and headers that were encoded", async () => {
  const messages: Message[] = [
    { key: "a", value: "x", timestamp: dateNow, headers: { h: "1" } },
    { key: null, value: Buffer.from([0, 255]), timestamp: dateNow + 70_000_000, headers: { r: ["1", "2", "3"], ["__proto__"]: "p", "ünï": "v" } as unknown as NonNullable<Message["headers"]> },
    { key: "c", value: null, timestamp: dateNow - 5, headers: {} },
    ...Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: dateNow + i * 1000 })),
  ];
  const opts = { transactional: false, producerId: Long.fromInt(-1), producerEpoch: 0, dateNow };
  const ref = await stock(0, messages, opts);
  for (const firstOffset of [0n, 123_456_789n, 2n ** 53n - 100n, 2n ** 62n]) {
    const records = await decodeWithFirstOffset(ref.bytes, firstOffset);
    assert.equal(records.length, messages.length);
    records.forEach((r, i) => {
      const m = messages[i] as Message;
      assert.equal(r.offset, (firstOffset + BigInt(i)).toString(), `offset ${i} after ${firstOffset}`);
      assert.equal(r.timestamp, String(m.timestamp), `timestamp ${i}`);
      assert.deepEqual(r.key, m.key === null || m.key === undefined ? null : Buffer.from(m.key));
      assert.deepEqual(r.value, m.value === null ? null : Buffer.from(m.value));
    });
    const headers = records[1]?.headers ?? {};
    assert.deepEqual(Object.keys(headers), ["r", "__proto__", "ünï"]);
    assert.deepEqual(headers["r"], [Buffer.from("1"), Buffer.from("2"), Buffer.from("3")]);
    assert.deepEqual(Object.getOwnPropertyDescriptor(headers, "__proto__")?.value, Buffer.from("p"));
    assert.equal(Object.getPrototypeOf(headers), Object.prototype);
  }
});

// The patch frames every request (size, header, payload) in one buffer and reserves room before
// appending encoder arrays. The reference is the request layout of the Kafka protocol written out
// here: INT32 size, INT16 api_key, INT16 api_version, INT32 correlation_id, STRING client_id, body.
test("a framed request is the protocol's size, header and body, byte for byte", async () => {
  const frame = require(`${base}/src/protocol/request`) as (r: object) => Promise<Encoder>;
  type Writer = { buffer: Buffer; writeString(s: string | null): Writer; writeInt16(n: number): Writer; writeInt32(n: number): Writer; writeArray(a: unknown[], type?: string): Writer; writeBuffer(b: Buffer): Writer };
  const encoder = () => new EncoderClass() as unknown as Writer;
  // A produce-shaped body: two topics of large partitions appended to a small encoder (the growth
  // the reservation avoids), one partition given as an 'object' array.
  const partition = (n: number, fill: number) => encoder().writeInt32(n).writeInt32(100_000).writeBuffer(Buffer.alloc(100_000, fill));
  const body = () =>
    encoder()
      .writeString(null)
      .writeInt16(-1)
      .writeInt32(30_000)
      .writeArray([encoder().writeString("events").writeArray([partition(0, 1), partition(1, 2)]), encoder().writeString("ünï").writeArray([partition(2, 3)], "object")]);
  const framed = (await frame({ correlationId: 41, clientId: "feature-ingest", request: { apiKey: 0, apiVersion: 3, encode: () => Promise.resolve(body()) } })).buffer;

  const str = (s: string | null) => (s === null ? Buffer.from([0xff, 0xff]) : Buffer.concat([u16(Buffer.byteLength(s)), Buffer.from(s)]));
  const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const part = (n: number, fill: number) => Buffer.concat([i32(n), i32(100_000), Buffer.alloc(100_000, fill)]);
  const expectedBody = Buffer.concat([str(null), u16(0xffff), i32(30_000), i32(2), str("events"), i32(2), part(0, 1), part(1, 2), str("ünï"), i32(1), part(2, 3)]);
  const header = Buffer.concat([u16(0), u16(3), i32(41), str("feature-ingest")]);
  assert.deepEqual(framed, Buffer.concat([i32(header.length + expectedBody.length), header, expectedBody]));
});
