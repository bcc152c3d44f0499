import assert from "node:assert/strict";
import { test } from "node:test";
import { isProtobufContentType, mediaType } from "./content-type.js";

test("a content-type header's media type: lower-cased, parameters and spaces dropped, from text or bytes", () => {
  assert.equal(mediaType(" Application/X-Protobuf ; proto=loopline.v1.Label"), "application/x-protobuf");
  assert.equal(mediaType(Buffer.from("application/json; charset=utf-8")), "application/json");
  assert.equal(mediaType(undefined), undefined);
  assert.equal(isProtobufContentType(Buffer.from("application/x-protobuf;proto=loopline.v1.Event")), true);
  assert.equal(isProtobufContentType("application/protobuf"), false);
  assert.equal(isProtobufContentType(undefined), false);
});
