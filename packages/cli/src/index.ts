export { findCommand, parseFlags, table } from "./commands.js";
export type { Command, CommandIO } from "./commands.js";
export { migrateCommand } from "./migrate-command.js";
export { modelsCommands } from "./models-commands.js";
