import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescEnum, DescExtension, DescFile, DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { status as Status } from "@grpc/grpc-js";
import {
  ServerReflection as ServerReflectionV1,
  ServerReflectionRequestSchema as RequestV1Schema,
  ServerReflectionResponseSchema as ResponseV1Schema,
} from "./gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionRequest, ServerReflectionResponse } from "./gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as RequestV1alphaSchema,
  ServerReflectionResponseSchema as ResponseV1alphaSchema,
} from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
import { implementService } from "./service-impl.js";
import type { ServiceBinding } from "./service-impl.js";

/** One answer of a ServerReflectionResponse (the message_response oneof). */
type Answer = NonNullable<MessageInitShape<typeof ResponseV1Schema>["messageResponse"]>;

/** Options of createReflectionService(). */
export interface ReflectionOptions {
  /**
   * Fully-qualified names of the services list_services reports. Default: every service declared
   * in the given files (not in their dependencies).
   */
  readonly services?: readonly string[];
}

/** Everything reflection can answer, indexed once. */
interface ReflectionIndex {
  readonly services: readonly string[];
  readonly files: ReadonlyMap<string, DescFile>;
  readonly symbols: ReadonlyMap<string, DescFile>;
  readonly extensions: readonly DescExtension[];
}

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, both ServerReflectionInfo) over the given
 * protobuf-es files, e.g. `[file_inference_grpc_service]`: list_services, file_by_filename,
 * file_containing_symbol, file_containing_extension and all_extension_numbers_of_type. File answers
 * carry the file and its transitive dependencies as serialized FileDescriptorProtos.
 */
export function createReflectionService(files: readonly DescFile[], options: ReflectionOptions = {}): ServiceBinding[] {
  const index = buildIndex(files, options);
  const encoded = new Map<DescFile, Uint8Array>();
  const encode = (file: DescFile): Uint8Array => {
    let bytes = encoded.get(file);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file, bytes);
    }
    return bytes;
  };
  const answerOne = (request: ServerReflectionRequest): ServerReflectionResponse =>
    create(ResponseV1Schema, { validHost: request.host, originalRequest: request, messageResponse: answer(index, request, encode) });

  const v1 = implementService(ServerReflectionV1, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield answerOne(request);
      }
    },
  });
  // v1alpha is wire-identical to v1 (only the package differs), so its messages are re-read as v1.
  const v1alpha = implementService(ServerReflectionV1alpha, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        const response = answerOne(fromBinary(RequestV1Schema, toBinary(RequestV1alphaSchema, request)));
        yield fromBinary(ResponseV1alphaSchema, toBinary(ResponseV1Schema, response));
      }
    },
  });
  return [v1, v1alpha];
}

function answer(
  index: ReflectionIndex,
  request: ServerReflectionRequest,
  encode: (file: DescFile) => Uint8Array,
): Answer {
  const fileAnswer = (file: DescFile | undefined, what: string): Answer =>
    file === undefined
      ? notFound(what)
      : { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file).map(encode) } };
  const question = request.messageRequest;
  switch (question.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    case "fileByFilename":
      return fileAnswer(index.files.get(question.value), `file "${question.value}"`);
    case "fileContainingSymbol":
      return fileAnswer(index.symbols.get(stripDot(question.value)), `symbol "${question.value}"`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = question.value;
      const extension = index.extensions.find(
        (e) => e.extendee.typeName === stripDot(containingType) && e.number === extensionNumber,
      );
      return fileAnswer(extension?.file, `extension ${String(extensionNumber)} of "${containingType}"`);
    }
    case "allExtensionNumbersOfType": {
      const typeName = stripDot(question.value);
      if (!index.symbols.has(typeName)) {
        return notFound(`type "${question.value}"`);
      }
      const numbers = index.extensions.filter((e) => e.extendee.typeName === typeName).map((e) => e.number);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: typeName, extensionNumber: numbers } };
    }
    case undefined:
      return {
        case: "errorResponse",
        value: { errorCode: Status.INVALID_ARGUMENT, errorMessage: "the request names no question" },
      };
  }
}

function notFound(what: string): Answer {
  return { case: "errorResponse", value: { errorCode: Status.NOT_FOUND, errorMessage: `${what} not found` } };
}

function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

/** The file followed by every file it imports, directly or not, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Set<DescFile>();
  const visit = (f: DescFile): void => {
    if (!seen.has(f)) {
      seen.add(f);
      f.dependencies.forEach(visit);
    }
  };
  visit(file);
  return [...seen];
}

function buildIndex(roots: readonly DescFile[], options: ReflectionOptions): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions: DescExtension[] = [];
  const addEnum = (e: DescEnum): void => {
    symbols.set(e.typeName, e.file);
  };
  const addMessage = (m: DescMessage): void => {
    symbols.set(m.typeName, m.file);
    for (const field of m.fields) {
      symbols.set(`${m.typeName}.${field.name}`, m.file);
    }
    for (const oneof of m.oneofs) {
      symbols.set(`${m.typeName}.${oneof.name}`, m.file);
    }
    m.nestedMessages.forEach(addMessage);
    m.nestedEnums.forEach(addEnum);
    m.nestedExtensions.forEach(addExtension);
  };
  const addExtension = (e: DescExtension): void => {
    symbols.set(e.typeName, e.file);
    extensions.push(e);
  };
  for (const root of roots) {
    for (const file of withDependencies(root)) {
      if (files.has(file.proto.name)) {
        continue;
      }
      files.set(file.proto.name, file);
      file.messages.forEach(addMessage);
      file.enums.forEach(addEnum);
      file.extensions.forEach(addExtension);
      for (const service of file.services) {
        symbols.set(service.typeName, file);
        for (const method of service.methods) {
          symbols.set(`${service.typeName}.${method.name}`, file);
        }
      }
    }
  }
  const services = options.services ?? [...new Set(roots.flatMap((file) => file.services.map((s) => s.typeName)))];
  return { services: [...services].sort(), files, symbols, extensions };
}
