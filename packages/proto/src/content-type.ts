/** The content-type header value that marks a record's protobuf form (events, labels, feature updates). */
export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";

/**
 * The media type of a content-type header, lower-cased and without parameters
 * (`Application/X-Protobuf; proto=loopline.v1.Label` → `application/x-protobuf`); undefined without one.
 */
export function mediaType(contentType: Uint8Array | string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const text = typeof contentType === "string" ? contentType : Buffer.from(contentType.buffer, contentType.byteOffset, contentType.byteLength).toString("latin1");
  return text.split(";")[0]?.trim().toLowerCase();
}

/** Whether a record's content-type header says protobuf (parameters such as `;proto=...` allowed). */
export function isProtobufContentType(contentType: Uint8Array | string | undefined): boolean {
  return mediaType(contentType) === PROTOBUF_CONTENT_TYPE;
}
