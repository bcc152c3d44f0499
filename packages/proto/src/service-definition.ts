import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, Message } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

const definitions = new WeakMap<DescService, ServiceDefinition>();

/** The HTTP/2 path of a method, `/<package>.<Service>/<Method>`, as gRPC routes it. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * The @grpc/grpc-js service definition of a protobuf-es service: one entry per method, keyed by
 * the method's proto name (its camel-case local name as `originalName`), with protobuf binary
 * serialization. Definitions are cached per descriptor.
 */
export function createServiceDefinition(service: DescService): ServiceDefinition {
  let definition = definitions.get(service);
  if (definition === undefined) {
    const methods: Record<string, MethodDefinition<Message, Message>> = {};
    for (const method of service.methods) {
      methods[method.name] = {
        path: methodPath(method),
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
        requestSerialize: serializer(method.input),
        requestDeserialize: deserializer(method.input),
        responseSerialize: serializer(method.output),
        responseDeserialize: deserializer(method.output),
        originalName: method.localName,
      };
    }
    definition = methods;
    definitions.set(service, definition);
  }
  return definition;
}

function serializer(schema: DescMessage): (value: Message) => Buffer {
  return (value) => {
    // create() returns a message of this schema unchanged and builds one from a plain init object.
    const bytes = toBinary(schema, create(schema, value as never));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(schema: DescMessage): (bytes: Buffer) => Message {
  return (bytes) => fromBinary(schema, bytes);
}
