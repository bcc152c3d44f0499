/**
 * Cleanup that runs in the reverse order of registration, once the test ends: node:test runs
 * `t.after` hooks in the order they were added, so a server registered first would be stopped
 * before the clients started on it. Stopping a private Kafka before its clients matters: a kafkajs
 * client closed after its broker died keeps retrying the connection for minutes, and holds the
 * test process open. Returns the function that registers one step.
 */
export function cleanupInReverse(t: { after(fn: () => Promise<void>): void }): (step: () => Promise<void>) => void {
  const steps: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step();
  });
  return (step) => void steps.push(step);
}
