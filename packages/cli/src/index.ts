export { findCommand, parseFlags, table } from "./commands.js";
export type { Command, CommandIO } from "./commands.js";
export { migrateCommand } from "./migrate-command.js";
export { modelsCommands } from "./models-commands.js";
export { driftCommand } from "./drift-command.js";
export { predictCommand, predictConfigSchema } from "./predict-command.js";
export { EXIT_DIFFERENT, replayCommand, replayConfigSchema } from "./replay-command.js";
export { trainCommand } from "./train-command.js";
