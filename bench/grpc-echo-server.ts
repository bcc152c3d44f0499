// A bare grpc-js server in its own process that answers every call of one method with the request's
// bytes: the transport's own latency on this machine, beside a service's. Prints its port, then serves
// until killed. Usage: node --conditions=@loopline/source --import tsx bench/grpc-echo-server.ts /pkg.Service/Method
import { startEchoServer } from "../services/inference/src/testing/baselines.js";

const method = process.argv[2];
if (method === undefined) throw new Error("usage: grpc-echo-server.ts /package.Service/Method");
const { port } = await startEchoServer(method);
console.log(port);
