#!/usr/bin/env node
// Runs the compiled CLI; `make build` produces dist/.
import "../dist/main.js";
