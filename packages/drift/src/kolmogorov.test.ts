import { describe, it } from "node:test";
import { assertClose, loadFixture, type FixtureNumber } from "./fixtures.test-helper.js";
import { kolmogorovSurvival, smirnovSurvival } from "./kolmogorov.js";

const grids = loadFixture<{ kstwo_sf_smirnov: Array<[number, number, FixtureNumber, FixtureNumber]> }>("special.json");

describe("kolmogorovSurvival", () => {
  it("equals scipy.stats.kstwo.sf across every algorithm branch (n from 1 to 50000)", () => {
    for (const [n, x, expected] of grids.kstwo_sf_smirnov) assertClose(kolmogorovSurvival(n, x), expected, `kstwo.sf(${x}, ${n})`);
  });
});

describe("smirnovSurvival", () => {
  it("equals scipy.special.smirnov", () => {
    for (const [n, x, , expected] of grids.kstwo_sf_smirnov) assertClose(smirnovSurvival(n, x), expected, `smirnov(${n}, ${x})`);
  });
});
