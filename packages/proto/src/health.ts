import { create } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "./gen/grpc/health/v1/health_pb.js";
import type { HealthCheckResponse } from "./gen/grpc/health/v1/health_pb.js";
import { GrpcError } from "./grpc-error.js";
import { implementService } from "./service-impl.js";
import type { ServiceBinding } from "./service-impl.js";

/** A serving status that can be set; SERVICE_UNKNOWN is only ever reported by Watch. */
export type HealthStatus = "SERVING" | "NOT_SERVING" | "UNKNOWN";

/** The grpc.health.v1.Health service plus the switches that drive it. */
export interface HealthService {
  /** The service to register on a server (createGrpcServer does it for you). */
  readonly binding: ServiceBinding;
  /** Sets the status of a service ("" is the server as a whole) and notifies its watchers. */
  setStatus(service: string, status: HealthStatus): void;
  /** The status of a service, or undefined when it was never set. */
  getStatus(service: string): HealthStatus | undefined;
  /**
   * Marks every service NOT_SERVING and ignores later setStatus calls, so load balancers drain the
   * server before it stops; then ends every Watch stream so a graceful shutdown need not wait for them.
   */
  shutdown(): void;
}

const toServingStatus: Record<HealthStatus, ServingStatus> = {
  SERVING: ServingStatus.SERVING,
  NOT_SERVING: ServingStatus.NOT_SERVING,
  UNKNOWN: ServingStatus.UNKNOWN,
};

interface Watcher {
  /** The latest status not yet sent; older unsent ones are superseded (only the current one matters). */
  pending: ServingStatus | undefined;
  wake: (() => void) | undefined;
}

/**
 * The standard gRPC health-checking service: Check answers the current status or NOT_FOUND for an
 * unknown service, List answers all statuses, Watch streams the current status and every change
 * (SERVICE_UNKNOWN while a service is unknown). Statuses start empty; set "" and each service.
 */
export function createHealthService(): HealthService {
  const statuses = new Map<string, ServingStatus>();
  const watchers = new Map<string, Set<Watcher>>();
  let shuttingDown = false;

  const response = (status: ServingStatus): HealthCheckResponse => create(HealthCheckResponseSchema, { status });

  const notify = (service: string, status: ServingStatus): void => {
    for (const watcher of watchers.get(service) ?? []) {
      watcher.pending = status;
      watcher.wake?.();
    }
  };

  const update = (service: string, status: ServingStatus): void => {
    if (statuses.get(service) === status) {
      return;
    }
    statuses.set(service, status);
    notify(service, status);
  };

  const binding = implementService(Health, {
    check(request) {
      const status = statuses.get(request.service);
      if (status === undefined) {
        throw new GrpcError(Status.NOT_FOUND, `unknown service "${request.service}"`);
      }
      return response(status);
    },
    list() {
      return { statuses: Object.fromEntries([...statuses].map(([service, status]) => [service, response(status)])) };
    },
    async *watch(request, context) {
      const service = request.service;
      const watcher: Watcher = { pending: statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN, wake: undefined };
      let set = watchers.get(service);
      if (set === undefined) {
        set = new Set();
        watchers.set(service, set);
      }
      set.add(watcher);
      const stop = (): void => watcher.wake?.();
      context.signal.addEventListener("abort", stop, { once: true });
      try {
        let last: ServingStatus | undefined;
        while (!context.signal.aborted && !(shuttingDown && watcher.pending === undefined)) {
          const next = watcher.pending;
          watcher.pending = undefined;
          if (next !== undefined && next !== last) {
            last = next;
            yield response(next);
            continue;
          }
          await new Promise<void>((resolve) => {
            watcher.wake = resolve;
          });
          watcher.wake = undefined;
        }
      } finally {
        context.signal.removeEventListener("abort", stop);
        set.delete(watcher);
        if (set.size === 0) {
          watchers.delete(service);
        }
      }
    },
  });

  return {
    binding,
    setStatus(service, status) {
      if (!shuttingDown) {
        update(service, toServingStatus[status]);
      }
    },
    getStatus(service) {
      const status = statuses.get(service);
      if (status === undefined) {
        return undefined;
      }
      return status === ServingStatus.SERVING ? "SERVING" : status === ServingStatus.NOT_SERVING ? "NOT_SERVING" : "UNKNOWN";
    },
    shutdown() {
      if (shuttingDown) {
        return;
      }
      for (const service of statuses.keys()) {
        update(service, ServingStatus.NOT_SERVING);
      }
      shuttingDown = true;
      // Watchers still send NOT_SERVING (already pending), then their loops end.
      for (const set of watchers.values()) {
        for (const watcher of set) {
          watcher.wake?.();
        }
      }
    },
  };
}
