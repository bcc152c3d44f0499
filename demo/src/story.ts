/** What the demo saw, in order: printed at the end and asserted by the loop test. */
export interface TimelineEntry {
  /** Seconds since the story started. */
  t: number;
  what: string;
}

/** A running account of the story with a clock. */
export interface Story {
  readonly started: number;
  readonly timeline: TimelineEntry[];
  /** Adds a timeline entry and prints it. */
  mark(what: string): void;
  /** Prints a progress line (not kept in the timeline). */
  progress(line: string): void;
  elapsed(): number;
}

/** Creates the story clock; `print` receives every line (stdout in the demo, a buffer in tests). */
export function createStory(print: (line: string) => void): Story {
  const started = Date.now();
  const timeline: TimelineEntry[] = [];
  const elapsed = () => (Date.now() - started) / 1000;
  const stamp = () => `[${elapsed().toFixed(0).padStart(4)}s]`;
  return {
    started,
    timeline,
    mark(what) {
      timeline.push({ t: Math.round(elapsed()), what });
      print(`${stamp()} ★ ${what}`);
    },
    progress(line) {
      print(`${stamp()}   ${line}`);
    },
    elapsed,
  };
}

/** ROC AUC by the rank-sum formula with average ranks for ties (Mann–Whitney U / (n₊·n₋)). */
export function auc(scores: readonly number[], labels: readonly number[]): number | undefined {
  const idx = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k] as number] === 1) {
      pos++;
      rankSum += avgRank;
    }
    i = j + 1;
  }
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return undefined;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
