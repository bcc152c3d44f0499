import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { freePort } from "./ports.js";

test("freePort hands out distinct, bindable ports below the kernel's ephemeral range", async () => {
  const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  const ports: number[] = [];
  for (let i = 0; i < 50; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
  for (const port of ports) assert.ok(port >= 20_000 && port < low, `${port} is outside [20000, ${low})`);
  const srv = createServer();
  await new Promise<void>((resolve, reject) => (srv.once("error", reject), srv.listen(ports[0], "127.0.0.1", resolve)));
  await new Promise((r) => srv.close(r));
});
