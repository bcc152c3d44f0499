import { describe, it } from "node:test";
import { assertClose, loadFixture, type FixtureNumber } from "./fixtures.test-helper.js";
import { normalCdf } from "./normal.js";

const grids = loadFixture<{ ndtr: Array<[number, FixtureNumber]> }>("special.json");

describe("normalCdf", () => {
  it("equals scipy.special.ndtr over [-30, 8]", () => {
    for (const [x, expected] of grids.ndtr) assertClose(normalCdf(x), expected, `ndtr(${x})`);
  });
});
