#!/usr/bin/python3
"""Prints the scalars in TensorBoard event files, checking every byte.

It exists to check Lantern's C++ event writer, so it is written from the
public format alone and shares no code with that writer.

Format (TFRecord framing around TensorFlow's Event protobuf):
  record  = uint64 LE length N, uint32 LE masked CRC-32C of those 8 bytes,
            N data bytes, uint32 LE masked CRC-32C of the data
  masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8   (mod 2**32)
  Event   = { 1: wall_time double, 2: step int64, 3: file_version string,
              5: summary Summary }
  Summary = { 1: repeated Value }
  Value   = { 1: tag string, 2: simple_value float }
The first event of every file must carry a file_version that starts with
"brain.Event:". Unknown fields are skipped. A Value without simple_value
(image, histogram, tensor) is not a scalar here and is skipped.

Usage:
  read_events.py FILE_OR_DIR [--json]
A directory means every file under it whose name contains "tfevents",
recursively, in sorted path order. Prints one line per scalar:
  step<TAB>tag<TAB>value                                         (default)
  {"file": F, "wall_time": T, "step": S, "tag": G, "value": V}   (--json)
A value prints as the shortest decimal that reads back as the same float32;
in JSON, NaN and infinities print as Python's json module writes them.

On the first damaged record (bad CRC, truncation, malformed protobuf,
missing file_version) it prints
  read_events: FILE: record K at byte OFFSET: WHAT
to stderr and exits 1. K counts records from 0 and OFFSET is the byte where
that record starts; the scalars before it have already been printed. An
unreadable path, or a directory without event files, also exits 1.
"""

import argparse
import dataclasses
import json
import math
import os
import signal
import struct
import sys

import crcmod.predefined

FILE_VERSION_PREFIX = "brain.Event:"
HEADER_SIZE = 12  # uint64 length + uint32 masked CRC of the length
FOOTER_SIZE = 4  # uint32 masked CRC of the data
MAX_FIELD_NUMBER = (1 << 29) - 1

# Protobuf wire types.
VARINT, FIXED64, LENGTH_DELIMITED, START_GROUP, END_GROUP, FIXED32 = range(6)

crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class BadRecord(Exception):
    """Record `index`, starting at byte `offset` of its file, is damaged."""

    def __init__(self, index, offset, what):
        super().__init__(what)
        self.index, self.offset, self.what = index, offset, what


class ProtoError(Exception):
    """Bytes that are not a valid protobuf message of the expected shape."""


@dataclasses.dataclass
class Event:
    # Proto3 defaults: a writer may omit a field that holds its default.
    wall_time: float = 0.0
    step: int = 0
    file_version: str | None = None
    scalars: list = dataclasses.field(default_factory=list)  # (tag, value)


# --- TFRecord framing -------------------------------------------------------

def records(blob):
    """Yields (index, offset, data) per record in blob; raises BadRecord."""
    index = offset = 0
    while offset < len(blob):
        header = blob[offset:offset + HEADER_SIZE]
        if len(header) < HEADER_SIZE:
            raise BadRecord(index, offset, f"truncated header: {len(header)} "
                            f"of {HEADER_SIZE} bytes")
        (stored,) = struct.unpack("<I", header[8:])
        computed = masked_crc32c(header[:8])
        if stored != computed:
            raise BadRecord(index, offset, "length CRC mismatch: stored "
                            f"0x{stored:08x}, computed 0x{computed:08x}")
        (length,) = struct.unpack("<Q", header[:8])
        start = offset + HEADER_SIZE
        end = start + length + FOOTER_SIZE
        if end > len(blob):
            raise BadRecord(index, offset, f"truncated: length {length} needs "
                            f"{length + FOOTER_SIZE} bytes of data and CRC, "
                            f"{len(blob) - start} left")
        data = blob[start:start + length]
        (stored,) = struct.unpack("<I", blob[start + length:end])
        computed = masked_crc32c(data)
        if stored != computed:
            raise BadRecord(index, offset, "data CRC mismatch: stored "
                            f"0x{stored:08x}, computed 0x{computed:08x}")
        yield index, offset, data
        index, offset = index + 1, end


# --- Protobuf wire format ---------------------------------------------------

def read_varint(buf, pos, where):
    """Returns (value, next pos) for the varint at buf[pos]."""
    start, value, shift = pos, 0, 0
    while True:
        if pos >= len(buf):
            raise ProtoError(f"{where}: varint at byte {start} runs past "
                             "the end")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift >= 70:
            raise ProtoError(f"{where}: varint at byte {start} is longer "
                             "than 10 bytes")
    if value >= 1 << 64:
        raise ProtoError(f"{where}: varint at byte {start} overflows 64 bits")
    return value, pos


def take(buf, pos, size, where):
    if pos + size > len(buf):
        raise ProtoError(f"{where}: {size}-byte field at byte {pos} runs past "
                         f"the end ({len(buf) - pos} left)")
    return buf[pos:pos + size]


def read_field(buf, pos, where):
    """Returns (field number, wire type, value, next pos) for the field at
    buf[pos]. value is an int for a varint, the raw bytes otherwise, None for
    group tags; a whole group is consumed here, so callers never see one."""
    start = pos
    key, pos = read_varint(buf, pos, where)
    number, wire = key >> 3, key & 7
    if not 1 <= number <= MAX_FIELD_NUMBER:
        raise ProtoError(f"{where}: invalid field number {number} at byte "
                         f"{start}")
    value = None
    if wire == VARINT:
        value, pos = read_varint(buf, pos, where)
    elif wire in (FIXED64, FIXED32):
        size = 8 if wire == FIXED64 else 4
        value, pos = take(buf, pos, size, where), pos + size
    elif wire == LENGTH_DELIMITED:
        size, pos = read_varint(buf, pos, where)
        value, pos = take(buf, pos, size, where), pos + size
    elif wire == START_GROUP:
        pos = skip_group(buf, pos, number, where)
    elif wire != END_GROUP:
        raise ProtoError(f"{where}: invalid wire type {wire} at byte {start}")
    return number, wire, value, pos


def skip_group(buf, pos, number, where):
    """Returns the position just past the end-group tag that closes group
    `number` (groups are deprecated but legal in an unknown field)."""
    while pos < len(buf):
        inner, wire, _, pos = read_field(buf, pos, where)
        if wire == END_GROUP:
            if inner != number:
                raise ProtoError(f"{where}: group {number} closed by "
                                 f"end-group {inner}")
            return pos
    raise ProtoError(f"{where}: group {number} is never closed")


def fields(buf, where):
    """Yields (field number, wire type, value) for each field in buf."""
    pos = 0
    while pos < len(buf):
        number, wire, value, pos = read_field(buf, pos, where)
        if wire == END_GROUP:
            raise ProtoError(f"{where}: end-group {number} without a start")
        if wire != START_GROUP:
            yield number, wire, value


def check_wire(where, wire, expected):
    if wire != expected:
        raise ProtoError(f"{where} has wire type {wire}, expected {expected}")


def decode_string(where, raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtoError(f"{where} is not valid UTF-8: {e}") from None


# --- TensorFlow messages ----------------------------------------------------

def parse_event(buf):
    event = Event()
    for number, wire, value in fields(buf, "Event"):
        if number == 1:
            check_wire("Event.wall_time", wire, FIXED64)
            (event.wall_time,) = struct.unpack("<d", value)
        elif number == 2:
            check_wire("Event.step", wire, VARINT)
            # int64 travels as its two's complement in 64 bits.
            event.step = value - (1 << 64) if value >> 63 else value
        elif number == 3:
            check_wire("Event.file_version", wire, LENGTH_DELIMITED)
            event.file_version = decode_string("Event.file_version", value)
        elif number == 5:
            check_wire("Event.summary", wire, LENGTH_DELIMITED)
            # A message field seen twice is merged; for a repeated field
            # inside it that means appending.
            event.scalars.extend(parse_summary(value))
    return event


def parse_summary(buf):
    """Returns [(tag, simple_value)] for the Values that carry one."""
    scalars, count = [], 0
    for number, wire, value in fields(buf, "Summary"):
        if number == 1:
            where = f"Summary.value[{count}]"
            count += 1
            check_wire(where, wire, LENGTH_DELIMITED)
            scalar = parse_value(value, where)
            if scalar is not None:
                scalars.append(scalar)
    return scalars


def parse_value(buf, where):
    tag, simple_value = "", None
    for number, wire, value in fields(buf, where):
        if number == 1:
            check_wire(f"{where}.tag", wire, LENGTH_DELIMITED)
            tag = decode_string(f"{where}.tag", value)
        elif number == 2:
            check_wire(f"{where}.simple_value", wire, FIXED32)
            (simple_value,) = struct.unpack("<f", value)
    return None if simple_value is None else (tag, simple_value)


def events_in_file(path):
    """Yields the Events of the file at path, in order. Raises BadRecord at
    the first damage and OSError when the file cannot be read."""
    with open(path, "rb") as f:
        blob = f.read()
    if not blob:
        raise BadRecord(0, 0, "empty file, expected a file_version event")
    for index, offset, data in records(blob):
        try:
            event = parse_event(data)
        except ProtoError as e:
            raise BadRecord(index, offset, f"malformed Event: {e}") from None
        if index == 0:
            check_file_version(event)
        yield event


def check_file_version(event):
    version = event.file_version
    if version is None:
        raise BadRecord(0, 0, "first event has no file_version")
    if not version.startswith(FILE_VERSION_PREFIX):
        raise BadRecord(0, 0, f"file_version {version!r} does not start "
                        f"with {FILE_VERSION_PREFIX!r}")


# --- Command line -----------------------------------------------------------

def event_files(path):
    if not os.path.isdir(path):
        return [path]
    return sorted(os.path.join(root, name)
                  for root, _, names in os.walk(path)
                  for name in names if "tfevents" in name)


def float32_text(value):
    """The shortest decimal that reads back as this float32."""
    if not math.isfinite(value):
        return repr(value)
    for digits in range(1, 10):  # 9 significant digits always suffice
        text = f"{value:.{digits}g}"
        try:
            if struct.unpack("<f", struct.pack("<f", float(text)))[0] == value:
                return repr(float(text))
        except OverflowError:  # rounded past the largest float32
            continue
    return repr(value)


def format_scalar(path, event, tag, value, as_json):
    text = float32_text(value)
    if not as_json:
        return f"{event.step}\t{tag}\t{text}"
    return json.dumps({"file": path, "wall_time": event.wall_time,
                       "step": event.step, "tag": tag, "value": float(text)})


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Print the scalars in TensorBoard event files.")
    parser.add_argument("path", metavar="FILE_OR_DIR")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per scalar")
    args = parser.parse_args(argv)
    # Die quietly, not with a traceback, when piped into `head`.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    paths = event_files(args.path)
    if not paths:
        print(f"read_events: {args.path}: no file with 'tfevents' in its name",
              file=sys.stderr)
        return 1
    for path in paths:
        try:
            for event in events_in_file(path):
                for tag, value in event.scalars:
                    print(format_scalar(path, event, tag, value, args.json))
        except BadRecord as e:
            print(f"read_events: {path}: record {e.index} at byte {e.offset}: "
                  f"{e.what}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"read_events: {path}: {e.strerror}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
