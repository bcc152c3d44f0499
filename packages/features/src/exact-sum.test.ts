import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addExactProduct, ExactSum } from "./exact-sum.js";

function sumOf(values: readonly number[]): number {
  const s = new ExactSum();
  for (const v of values) s.add(v);
  return s.value();
}

describe("ExactSum", () => {
  const cases: Array<{ name: string; values: number[]; expected: number }> = [
    { name: "empty", values: [], expected: 0 },
    // Naive left-to-right gives 0.6000000000000001. Exact: 0.1 + 0.2 + 0.3 as doubles is
    // 0.6000000000000000055511151231257827; the nearest double is 0.59999999999999997779553950749686919 = 0.6.
    { name: "0.1 + 0.2 + 0.3", values: [0.1, 0.2, 0.3], expected: 0.6 },
    { name: "0.3 + 0.2 + 0.1 (other order)", values: [0.3, 0.2, 0.1], expected: 0.6 },
    // 1e100 cancels exactly, leaving 1 + 1 = 2 (naive gives 0).
    { name: "catastrophic cancellation", values: [1e100, 1, -1e100, 1], expected: 2 },
    // 2^53 + 1 is not representable; 2^53 + 1 + 1 = 9007199254740994 is.
    { name: "beyond 2^53", values: [2 ** 53, 1, 1], expected: 9007199254740994 },
    { name: "ten times 0.1", values: Array.from({ length: 10 }, () => 0.1), expected: 1 },
  ];
  for (const c of cases) it(c.name, () => assert.equal(sumOf(c.values), c.expected));

  it("adding -x removes x exactly", () => {
    const s = new ExactSum();
    for (const v of [0.1, 0.7, 1e-9, 3]) s.add(v);
    for (const v of [0.7, 3, 1e-9]) s.add(-v);
    assert.equal(s.value(), 0.1);
    s.add(-0.1);
    assert.equal(s.value(), 0);
    assert.equal(s.size, 0);
  });

  it("rounds half-way cases to even", () => {
    // 1 + 2^-53 is exactly half an ulp above 1; ties-to-even keeps 1. Adding 2^-100 tips it past half-way:
    // the correctly rounded result is 1 + 2^-52 = 1.0000000000000002.
    assert.equal(sumOf([1, 2 ** -53]), 1);
    assert.equal(sumOf([1, 2 ** -53, 2 ** -100]), 1 + 2 ** -52);
  });
});

describe("addExactProduct", () => {
  it("keeps the rounding error of a product", () => {
    // (1 + 2^-30)^2 = 1 + 2^-29 + 2^-60; the double product drops 2^-60, the exact product keeps it.
    const s = new ExactSum();
    addExactProduct(s, 1 + 2 ** -30, 1 + 2 ** -30, 1);
    s.add(-1);
    s.add(-(2 ** -29));
    assert.equal(s.value(), 2 ** -60);
  });
});
