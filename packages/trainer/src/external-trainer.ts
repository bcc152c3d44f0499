import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { ModelSignatureSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { TrainerError } from "./errors.js";
import type { FitInput, FitOutput } from "./trainers.js";

/** Format tag of the spec JSON an external trainer receives. */
export const TRAINER_SPEC_FORMAT = "loopline.trainer-spec/v1";

/** The spec JSON written next to the training CSV (see packages/trainer/README.md, "External trainers"). */
export interface ExternalTrainerSpec {
  readonly format: typeof TRAINER_SPEC_FORMAT;
  readonly model: string;
  /** CSV columns holding the model inputs, in input order (the signature's column names). */
  readonly feature_columns: readonly string[];
  /** The signature (protobuf JSON): input_tensor, inputs, score_output, score_index. */
  readonly signature: unknown;
  readonly input_tensor: string;
  readonly score_output: string;
  readonly score_index: number;
  /** Column with the 0/1 label. */
  readonly label_column: string;
  /** Column saying "train" or "holdout": fit on train rows only. */
  readonly split_column: string;
  readonly holdout_fraction: number;
  readonly seed: number;
  /** Where model.onnx, metrics.json (and optionally profile.json) must be written. */
  readonly output_dir: string;
}

/** The CSV an external trainer reads: header, then one row per example, numbers as float32-exact decimals. */
export function trainingCsv(input: FitInput): string {
  const header = [...input.train.columnNames, "label", "split"].map(csvField).join(",");
  const lines = [header];
  const write = (set: FitInput["train"], split: string) => {
    for (let r = 0; r < set.rows; r++) {
      const cells: string[] = [];
      for (let c = 0; c < set.columns; c++) cells.push(String(set.x[r * set.columns + c]));
      cells.push(String(set.y[r]), split);
      lines.push(cells.join(","));
    }
  };
  write(input.train, "train");
  write(input.holdout, "holdout");
  return `${lines.join("\n")}\n`;
}

const csvField = (text: string): string => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

/**
 * Runs `<command> <training.csv> <spec.json> <output-dir>` in a fresh folder and reads its output:
 * model.onnx (required), metrics.json (required: an object of numbers), profile.json (optional).
 * A non-zero exit, a timeout or a missing file is TrainerError EXTERNAL_TRAINER_FAILED with stderr's tail.
 */
export async function runExternalTrainer(command: string, input: FitInput, options: { timeoutMs: number; workDir?: string }): Promise<FitOutput> {
  const dir = await mkdtemp(join(options.workDir ?? tmpdir(), "loopline-train-"));
  try {
    const csvPath = join(dir, "training.csv");
    const specPath = join(dir, "spec.json");
    const outDir = join(dir, "out");
    const spec: ExternalTrainerSpec = {
      format: TRAINER_SPEC_FORMAT,
      model: input.model,
      feature_columns: input.train.columnNames,
      signature: toJson(ModelSignatureSchema, input.signature),
      input_tensor: input.signature.inputTensor,
      score_output: input.signature.scoreOutput,
      score_index: input.signature.scoreIndex,
      label_column: "label",
      split_column: "split",
      holdout_fraction: input.holdoutFraction,
      seed: input.seed,
      output_dir: outDir,
    };
    await writeFile(csvPath, trainingCsv(input));
    await writeFile(specPath, `${JSON.stringify(spec, null, 2)}\n`);
    const [program, ...args] = command.split(/\s+/).filter((s) => s !== "");
    if (program === undefined) throw new TrainerError("INVALID_TRAINER", "empty trainer command");
    const stderr = await runCommand(program, [...args, csvPath, specPath, outDir], options.timeoutMs);
    const read = async (name: string, required: boolean): Promise<Buffer | undefined> => {
      try {
        return await readFile(join(outDir, name));
      } catch (err) {
        if (!required) return undefined;
        throw new TrainerError("EXTERNAL_TRAINER_FAILED", `${command} exited 0 but wrote no ${name}; stderr: ${stderr.slice(-2000)}`, { cause: err });
      }
    };
    const onnx = (await read("model.onnx", true)) as Buffer;
    const metricsText = (await read("metrics.json", true)) as Buffer;
    const profile = await read("profile.json", false);
    let reported: Record<string, number>;
    try {
      const parsed = JSON.parse(metricsText.toString("utf8")) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      reported = Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, number] => typeof entry[1] === "number" && Number.isFinite(entry[1])));
    } catch (err) {
      throw new TrainerError("EXTERNAL_TRAINER_FAILED", `metrics.json is not a JSON object: ${(err as Error).message}`, { cause: err });
    }
    return {
      onnx: new Uint8Array(onnx),
      source: `external:${program}`,
      attributes: { command, stderr_tail: stderr.slice(-500) },
      reportedMetrics: reported,
      ...(profile !== undefined ? { profile: new Uint8Array(profile) } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runCommand(program: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
    let stderr = "";
    child.stdout.on("data", () => undefined);
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-8000);
    });
    child.on("error", (err) => reject(new TrainerError("EXTERNAL_TRAINER_FAILED", `${program} could not start: ${err.message}`, { cause: err })));
    child.on("close", (code, signal) => {
      if (code === 0) resolve(stderr);
      else reject(new TrainerError("EXTERNAL_TRAINER_FAILED", `${program} ${signal !== null ? `was killed (${signal}, limit ${timeoutMs} ms)` : `exited ${code}`}; stderr: ${stderr.slice(-2000)}`));
    });
  });
}
