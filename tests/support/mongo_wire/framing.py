"""The wire format: message headers, OP_MSG, the legacy OP_QUERY/OP_REPLY, BSON codecs.

Pure functions from a message body to a command document and from a reply document to
a message; nothing here knows about sockets or storage (`server` reads and writes the
bytes, `commands` and the modules under it answer the commands).
"""

from __future__ import annotations

import struct
from typing import Any

import bson
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions

#: Replies are encoded with this (a native ``uuid.UUID`` goes out as subtype 4).
CODEC = CodecOptions(
    document_class=dict, tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
)
#: Requests are decoded with this: identical but for UUIDs, which stay ``Binary`` (subtype
#: 4, or 3 for legacy ones). mongomock validates every stored document by encoding it with
#: bson's default UNSPECIFIED representation, which refuses a native ``uuid.UUID``; as
#: ``Binary`` they are stored, compared and sent back byte for byte.
DECODE_CODEC = CODEC.with_options(uuid_representation=UuidRepresentation.UNSPECIFIED)

OP_REPLY = 1
OP_QUERY = 2004
OP_MSG = 2013

#: A message header: messageLength, requestID, responseTo, opCode.
HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")

_CHECKSUM_PRESENT = 1 << 0
_MORE_TO_COME = 1 << 1

MAX_BSON_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48_000_000


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("utf-8"), end + 1


def _decode_one(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    (size,) = _INT32.unpack_from(data, pos)
    return bson.decode(data[pos : pos + size], codec_options=DECODE_CODEC), pos + size


def decode_op_msg(body: bytes) -> tuple[dict[str, Any], bool]:
    """An OP_MSG body (after the header): its command, with the document sequences (kind 1
    sections: an insert's ``documents``...) merged in, and whether the client set
    moreToCome (it wants no reply). A checksum, if present, is skipped, not verified."""
    (flags,) = _UINT32.unpack_from(body, 0)
    end = len(body) - 4 if flags & _CHECKSUM_PRESENT else len(body)
    pos = 4
    command: dict[str, Any] | None = None
    sequences: dict[str, list[dict[str, Any]]] = {}
    while pos < end:
        kind = body[pos]
        pos += 1
        if kind == 0:
            command, pos = _decode_one(body, pos)
        elif kind == 1:
            (size,) = _INT32.unpack_from(body, pos)
            section_end = pos + size
            identifier, doc_pos = _cstring(body, pos + 4)
            docs = sequences.setdefault(identifier, [])
            while doc_pos < section_end:
                doc, doc_pos = _decode_one(body, doc_pos)
                docs.append(doc)
            pos = section_end
        else:
            raise ValueError(f"unsupported OP_MSG section kind {kind}")
    if command is None:
        raise ValueError("OP_MSG without a body section")
    for identifier, docs in sequences.items():
        command.setdefault(identifier, []).extend(docs)
    return command, bool(flags & _MORE_TO_COME)


def encode_op_msg(reply: dict[str, Any]) -> bytes:
    """The body of an OP_MSG holding `reply` (no flags, one kind 0 section)."""
    return _UINT32.pack(0) + b"\x00" + bson.encode(reply, codec_options=CODEC)


def decode_op_query(body: bytes) -> tuple[str, dict[str, Any]]:
    """An OP_QUERY body (the driver's first handshake): its namespace and its query."""
    pos = 4  # flags
    namespace, pos = _cstring(body, pos)
    pos += 8  # numberToSkip, numberToReturn
    query, pos = _decode_one(body, pos)
    return namespace, query


def encode_op_reply(flags: int, reply: dict[str, Any]) -> bytes:
    """The body of an OP_REPLY holding `reply` as its one document."""
    return struct.pack("<iqii", flags, 0, 0, 1) + bson.encode(reply, codec_options=CODEC)


def frame(request_id: int, response_to: int, op_code: int, payload: bytes) -> bytes:
    """A whole message: the header, then `payload`."""
    header = HEADER.pack(HEADER.size + len(payload), request_id, response_to, op_code)
    return header + payload
