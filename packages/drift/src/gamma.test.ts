import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, loadFixture, type FixtureNumber } from "./fixtures.test-helper.js";
import { chiSquareSurvival, logGamma, regularizedGammaQ } from "./gamma.js";

const grids = loadFixture<{ chi2_sf: Array<[number, number, FixtureNumber]> }>("special.json");

describe("chiSquareSurvival", () => {
  it("equals scipy.stats.chi2.sf on a grid of k and x/k", () => {
    for (const [x, k, expected] of grids.chi2_sf) assertClose(chiSquareSurvival(x, k), expected, `chi2.sf(${x}, ${k})`);
  });

  it("handles the edges", () => {
    const cases: Array<[number, number, number]> = [
      [0, 3, 1],
      [-1, 3, 1],
      [Infinity, 3, 0],
    ];
    for (const [x, k, expected] of cases) assert.equal(chiSquareSurvival(x, k), expected);
    assert.ok(Number.isNaN(chiSquareSurvival(1, 0)));
  });
});

describe("logGamma and regularizedGammaQ", () => {
  it("match closed forms", () => {
    // Γ(5) = 24, Γ(1/2) = √π, Q(1, x) = e^{-x}.
    const cases: Array<[number, number]> = [
      [logGamma(5), Math.log(24)],
      [logGamma(0.5), Math.log(Math.sqrt(Math.PI))],
      [logGamma(30), Math.log(8841761993739701954543616000000)],
      [regularizedGammaQ(1, 2.5), Math.exp(-2.5)],
      [regularizedGammaQ(1, 0.3), Math.exp(-0.3)],
    ];
    for (const [actual, expected] of cases) assertClose(actual, expected, "closed form");
  });
});
