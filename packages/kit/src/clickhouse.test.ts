import assert from "node:assert/strict";
import { test } from "node:test";
import { createClickHouse, encodeRowBinary, queryRows, RowBinaryWriter, type RowBinaryColumn } from "./clickhouse.js";
import { UnavailableError } from "./errors.js";
import { createLogger } from "./log.js";
import { HOSTILE as SHARED_HOSTILE } from "./hostile-strings.test-helper.js";

// The shared hostile strings plus lengths around RowBinary's varint boundaries (127/128 bytes).
const HOSTILE = [
  ...SHARED_HOSTILE,
  "\uFEFFstarts with a BOM",
  "x".repeat(127),
  "y".repeat(128),
  "é".repeat(100), // 100 characters, 200 bytes: a two-byte length
];

// Expected bytes follow ClickHouse's RowBinary spec (docs: "RowBinary" format): String = LEB128
// length + bytes; integers, Float64 and DateTime (UInt32 seconds) little-endian; Array = LEB128 count
// + elements. Fixed-width values were worked out with Python's struct.pack('<...'), UTF-8 bytes
// come from Node's own encoder (Buffer.from), never from the code under test.

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const encode = (columns: RowBinaryColumn[], rows: Record<string, unknown>[]) => hex(encodeRowBinary(columns, rows).take());

test("strings: a LEB128 byte length, then the UTF-8 bytes as they are (nothing escaped)", () => {
  for (const s of HOSTILE) {
    const utf8 = Buffer.from(s, "utf8");
    const length = utf8.length < 128 ? [utf8.length] : [(utf8.length & 0x7f) | 0x80, utf8.length >> 7];
    assert.equal(encode([{ name: "s", type: "String" }], [{ s }]), hex(Buffer.concat([Buffer.from(length), utf8])), JSON.stringify(s));
  }
  assert.equal(encode([{ name: "s", type: "String" }], [{ s: "é".repeat(100) }]).slice(0, 4), "c801");
  // A lone surrogate cannot be UTF-8: it becomes U+FFFD (EF BF BD), as TextEncoder does.
  assert.equal(encode([{ name: "s", type: "String" }], [{ s: "a\ud800" }]), "0461efbfbd");
});

test("numbers, times and arrays: little-endian fixed widths, arrays counted", () => {
  const columns: RowBinaryColumn[] = [
    { name: "u8", type: "UInt8" },
    { name: "u32", type: "UInt32" },
    { name: "u64", type: "UInt64" },
    { name: "f", type: "Float64" },
    { name: "t", type: "DateTime" },
    { name: "names", type: "Array(String)" },
    { name: "xs", type: "Array(Float64)" },
    { name: "flags", type: "Array(UInt8)" },
  ];
  const cases: [Record<string, unknown>, string][] = [
    [{ u8: 255, u32: 4_000_000_000, u64: "18446744073709551615", f: 0.25, t: 1_773_480_600, names: ["a", "bc"], xs: [], flags: [1, 255] }, "ff" + "00286bee" + "ffffffffffffffff" + "000000000000d03f" + "982ab569" + "02016102626300" + "0201ff"],
    [{ u8: true, u32: 0, u64: "9007199254740993", f: "nan", t: new Date("2026-03-14T09:30:00Z"), names: [], xs: [1.5], flags: [] }, "01" + "00000000" + "0100000000002000" + "000000000000f87f" + "982ab569" + "00" + "01000000000000f83f" + "00"],
    [{ u8: false, u32: 1, u64: 2 ** 53 + 2 ** 60, f: "-inf", t: 0, names: [""], xs: [-0], flags: [0] }, "00" + "01000000" + "0000000000002010" + "000000000000f0ff" + "00000000" + "0100" + "010000000000000000" + "0100"],
    [{ u8: 0, u32: 0, u64: 1n, f: -0, t: 4_294_967_295, names: ["é"], xs: [Number.NaN], flags: [] }, "00" + "00000000" + "0100000000000000" + "0000000000000000" + "ffffffff" + "0102c3a9" + "01000000000000f87f" + "00"],
  ];
  for (const [row, expected] of cases) assert.equal(encode(columns, [row]), expected, JSON.stringify(row, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v)));
});

test("a value that does not fit its column is refused, naming the column", () => {
  const bad: [RowBinaryColumn["type"], unknown][] = [
    ["UInt8", 256],
    ["UInt8", -1],
    ["UInt8", 1.5],
    ["UInt32", 2 ** 32],
    ["UInt64", "-1"],
    ["UInt64", "18446744073709551616"],
    ["UInt64", -1],
    ["UInt64", "12abc"],
    ["Float64", "abc"],
    ["Float64", "constructor"],
    ["Float64", null],
    ["String", 5],
    ["String", undefined],
    ["DateTime", -1],
    ["DateTime", "2026-03-14 09:30:00"],
    ["Array(String)", "a"],
    ["Array(UInt8)", [1, 300]],
  ];
  for (const [type, v] of bad) {
    assert.throws(() => encodeRowBinary([{ name: "col_x", type }], [{ col_x: v }]), (err: unknown) => (err instanceof TypeError || err instanceof RangeError) && /col_x/.test(err.message), `${type} ${String(v)}`);
  }
});

test("the writer grows as needed and never reuses a buffer it handed over", () => {
  const w = new RowBinaryWriter(16);
  const expected: Buffer[] = [];
  for (let i = 0; i < 5000; i++) {
    const s = `row-${i}-${"z".repeat(i % 300)}`;
    w.string(s);
    w.uint64Decimal(String(i * 1_000_003));
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(i * 1_000_003));
    expected.push(Buffer.from([...(s.length < 128 ? [s.length] : [(s.length & 0x7f) | 0x80, s.length >> 7])]), Buffer.from(s), n);
  }
  const first = w.take();
  const copy = Buffer.from(first);
  assert.equal(hex(first), hex(Buffer.concat(expected)));
  w.string("after");
  w.raw(Buffer.from("xyz"), 0, 3);
  assert.equal(hex(w.take()), hex(Buffer.from("\u0005afterxyz", "latin1")));
  assert.equal(hex(first), hex(copy), "the first body is unchanged by later writes");
  assert.equal(w.take().length, 0);
});

test("the client's own log lines go to the kit logger, not to the console", async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ name: "t", level: "debug", write: (line) => void lines.push(line) });
  const printed: unknown[] = [];
  for (const method of ["log", "error", "warn", "info", "debug", "trace"] as const) {
    t.mock.method(console, method, (...args: unknown[]) => void printed.push(args));
  }
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  const client = createClickHouse({ url: "http://127.0.0.1:1", logger, requestTimeoutMs: 2000 });
  t.after(() => client.close());
  await assert.rejects(queryRows(client, "SELECT 1"), UnavailableError);
  assert.deepEqual(printed, []);
  assert.ok(lines.some((l) => /clickhouse client/.test(l) && /ECONNREFUSED/.test(l)), lines.join(""));
});
