import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * The first port of the kernel's ephemeral range, the ports outbound connections take as their
 * source. Falls back to Linux's default when the range cannot be read.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

const PORT_FLOOR = 20_000;
const given = new Set<number>();

/**
 * A free 127.0.0.1 port for a server a test starts, stops and starts again on the same port.
 *
 * `listen(0)` would hand out a port from the ephemeral range, which stays free only until the next
 * outbound connection of any process on the machine takes it as its source port (or the next
 * `listen(0)` gets it again): the server then fails to bind, now or on its restart. A port below
 * that range is never taken by outbound connections; ports handed out here are not handed out
 * twice within one process.
 */
export async function freePort(): Promise<number> {
  const high = Math.max(PORT_FLOOR + 1_000, ephemeralLow());
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (high - PORT_FLOOR));
    if (given.has(port)) continue;
    if (await bindable(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${PORT_FLOOR} and ${high} after 200 tries`);
}
