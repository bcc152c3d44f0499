// Issue 4's figures (register a 10 MB model < 2 s; a watcher sees a change < 100 ms). The benchmark
// lives beside the service because it drives the service's own test harness; this runs it.
await import("../services/model-registry/bench/registry.bench.js");
