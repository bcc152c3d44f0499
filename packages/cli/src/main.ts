import { ConfigError, describeError } from "@loopline/kit";
import { findCommand, type Command } from "./commands.js";
import { driftCommand } from "./drift-command.js";
import { featuresCommand } from "./features-command.js";
import { migrateCommand } from "./migrate-command.js";
import { modelsCommands } from "./models-commands.js";
import { predictCommand } from "./predict-command.js";
import { replayCommand } from "./replay-command.js";
import { trainCommand } from "./train-command.js";

const commands: Command[] = [migrateCommand, ...modelsCommands, predictCommand, featuresCommand, driftCommand, replayCommand, trainCommand];

function help(): string {
  return [
    "usage: loopline <command> [args]",
    "",
    ...commands.map((c) => `  loopline ${c.path.join(" ")} ${c.usage}\n      ${c.summary}`),
    "",
    "Endpoints come from LOOPLINE_* environment variables (see README).",
  ].join("\n");
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(`${help()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(commands, argv);
  if (found === undefined) {
    process.stderr.write(`loopline: unknown command "${argv.join(" ")}"\n\n${help()}\n`);
    return 2;
  }
  return found.command.run(found.rest, {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof ConfigError ? err.message : `loopline: ${describeError(err).message}`;
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
  },
);
