// Public API of @loopline/drift: Evidently-exact drift statistics, reference profiles and drift reports.
export { DriftError, type DriftErrorCode } from "./errors.js";
export { erf, erfc, normalCdf } from "./normal.js";
export { chiSquareSurvival, logGamma, regularizedGammaQ } from "./gamma.js";
export { kolmogorovSurvival, smirnovSurvival } from "./kolmogorov.js";
export { KS_MAX_EXACT_N, ks2samp, ksPValue, type KsResult } from "./ks.js";
export { WASSERSTEIN_MIN_NORM, wassersteinDistance, wassersteinNormed } from "./wasserstein.js";
export {
  HISTOGRAM_MIN_UNIQUE,
  binnedShares,
  fillZeroShares,
  histogramSorted,
  sturgesEdges,
  type BinnedShares,
  type ColumnKind,
  type Sample,
} from "./binning.js";
export { jensenShannon, jensenShannonFromShares, kl, klFromShares, psi, psiFromShares } from "./divergence.js";
export { hellinger } from "./hellinger.js";
export { chiSquare, type ChiSquareResult } from "./chi-square.js";
export { zTestProportions, type ZTestResult } from "./z-test.js";
export {
  DEFAULT_DRIFT_SHARE,
  DRIFT_METHODS,
  SMALL_REFERENCE_MAX,
  datasetDrift,
  defaultMethod,
  isDrifted,
  type DriftMethod,
  type DriftMethodInfo,
} from "./methods.js";
export {
  PROFILE_FORMAT,
  buildReferenceProfile,
  profileFromJson,
  profileToJson,
  type CategoricalColumnProfile,
  type ColumnProfile,
  type ColumnSpec,
  type NumericalColumnProfile,
  type ReferenceProfile,
  type ReferenceProfileJson,
} from "./profile.js";
export {
  createCurrentWindow,
  type CategoricalWindowColumn,
  type CurrentWindow,
  type CurrentWindowOptions,
  type NumericalWindowColumn,
  type WindowColumn,
} from "./current-window.js";
export {
  computeDriftReport,
  type ColumnDriftOptions,
  type ColumnDriftResult,
  type ColumnSkipReason,
  type DatasetDriftSummary,
  type DriftReport,
  type DriftReportOptions,
} from "./report.js";
