"""Tests scripts/read_events.py on event files built here by a small encoder
written for the test, and on records that TensorFlow itself wrote.

Run from the repository root:
  /usr/bin/python3 -m unittest discover -s tests/scripts -p 'test_*.py'
"""

import importlib.util
import json
import re
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import crcmod.predefined

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "read_events.py"


def load_reader():
    spec = importlib.util.spec_from_file_location("read_events", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reader = load_reader()

# --- A minimal encoder, independent of the reader ---------------------------

_crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def masked(data):
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n):
    n &= (1 << 64) - 1  # negative int64 as two's complement, 10 bytes
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(number, wire):
    return varint(number << 3 | wire)


def f_varint(number, n):
    return key(number, 0) + varint(n)


def f_double(number, x):
    return key(number, 1) + struct.pack("<d", x)


def f_bytes(number, data):
    return key(number, 2) + varint(len(data)) + data


def f_float(number, x):
    return key(number, 5) + struct.pack("<f", x)


def value(tag, simple_value):
    return f_bytes(1, tag.encode()) + f_float(2, simple_value)


def event(wall_time=None, step=None, file_version=None, values=()):
    out = b""
    if wall_time is not None:
        out += f_double(1, wall_time)
    if step is not None:
        out += f_varint(2, step)
    if file_version is not None:
        out += f_bytes(3, file_version.encode())
    if values:
        out += f_bytes(5, b"".join(f_bytes(1, v) for v in values))
    return out


def record(data):
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked(length)) + data +
            struct.pack("<I", masked(data)))


HEADER_EVENT = event(wall_time=1700000000.5, file_version="brain.Event:2")

# Two records dumped (xxd) from a file that TensorFlow wrote for
# tf.summary.scalar("accuracy", 0.99, step=77); quoted in TensorBoard's
# tensorboard/data/server/tf_record.rs tests. The scalar is a TF2 tensor
# Value (field 8), not a simple_value.
TF_WRITTEN_FILE = (
    b"\x18\x00\x00\x00\x00\x00\x00\x00\xa3\x7f\x4b\x22"
    b"\x09\x00\x00\x80\x38\x99\xd6\xd7\x41\x1a\x0dbrain.Event:2"
    b"\x12\x4b\x36\xab"
    b"\x32\x00\x00\x00\x00\x00\x00\x00\x24\x19\x56\xec"
    b"\x09\xc4\x05\xb7\x3d\x99\xd6\xd7\x41"
    b"\x10\x4d\x2a\x25"
    b"\x0a\x23\x0a\x08accuracy"
    b"\x42\x0a\x08\x01\x12\x00\x22\x04\xa4\x70\x7d\x3f\x4a"
    b"\x0b\x0a\x09\x0a\x07scalars"
    b"\xa5\x5b\x64\x33")


class ReaderTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, blob):
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        return str(path)

    def run_reader(self, *args):
        return subprocess.run([sys.executable, str(SCRIPT), *args],
                              capture_output=True, text=True, timeout=60)


class CrcTest(unittest.TestCase):
    def test_crc32c_standard_vectors(self):
        # RFC 3720 (iSCSI) section B.4, and the usual "123456789" check.
        self.assertEqual(reader.crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(reader.crc32c(bytes(32)), 0x8A9136AA)
        self.assertEqual(reader.crc32c(b"\xff" * 32), 0x62A8AB43)
        self.assertEqual(reader.crc32c(bytes(range(32))), 0x46DD794E)

    def test_masked_crc_matches_a_tensorflow_file(self):
        # From a real event file, Event(file_version="CRC test, one two"),
        # quoted in TensorBoard's tensorboard/data/server/masked_crc.rs.
        data = b"\x1a\x11CRC test, one two"
        self.assertEqual(reader.masked_crc32c(data), 0x5794D08A)
        self.assertEqual(masked(data), 0x5794D08A)


class TensorFlowFileTest(ReaderTestCase):
    def test_reads_a_file_tensorflow_wrote(self):
        path = self.write("events.out.tfevents.1.tf", TF_WRITTEN_FILE)
        events = list(reader.events_in_file(path))
        self.assertEqual([e.file_version for e in events],
                         ["brain.Event:2", None])
        self.assertEqual(events[1].step, 77)
        # The tensor-valued scalar is not a simple_value, so none is printed.
        self.assertEqual(events[1].scalars, [])
        result = self.run_reader(path)
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (0, "", ""))


class RoundTripTest(ReaderTestCase):
    def scalar_file(self):
        return self.write("events.out.tfevents.1.host", b"".join([
            record(HEADER_EVENT),
            # step omitted: proto3 default 0.
            record(event(1700000001.0, None, None,
                         [value("episode/return", 0.5)])),
            record(event(1700000002.25, 5, None,
                         [value("loss/policy", -2.25), value("lr", 0.1)])),
            record(event(1700000003.0, 2**40, None,
                         [value("big", 1e30), value("tag é", 3.0)])),
            record(event(1700000004.0, -3, None, [value("neg_step", 0.0)])),
            # One Summary split over two fields: merged, so both count.
            record(event(1700000005.0, 7, None, [value("a", 1.0)]) +
                   f_bytes(5, f_bytes(1, value("b", 2.0)))),
        ]))

    def test_text_output(self):
        result = self.run_reader(self.scalar_file())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines(), [
            "0\tepisode/return\t0.5",
            "5\tloss/policy\t-2.25",
            "5\tlr\t0.1",  # the float32 nearest 0.1, printed shortest
            f"{2**40}\tbig\t1e+30",
            f"{2**40}\ttag é\t3.0",
            "-3\tneg_step\t0.0",
            "7\ta\t1.0",
            "7\tb\t2.0",
        ])

    def test_json_output(self):
        path = self.scalar_file()
        result = self.run_reader(path, "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(len(rows), 8)
        self.assertEqual(rows[1], {"file": path, "wall_time": 1700000002.25,
                                   "step": 5, "tag": "loss/policy",
                                   "value": -2.25})
        self.assertEqual(rows[2]["value"], 0.1)
        self.assertEqual(rows[3]["step"], 2**40)

    def test_unknown_fields_are_skipped(self):
        unknown = (f_varint(99, 12345) + f_double(98, 1.5) +
                   f_bytes(97, b"\xff\x00junk") + f_float(96, 2.0) +
                   key(95, 3) + f_varint(1, 7) + key(95, 4))  # a group
        image = f_bytes(1, b"an/image") + f_bytes(4, b"\x08\x01")
        with_meta = (f_bytes(9, b"\x0a\x02\x0a\x00") + value("kept", 4.0) +
                     unknown)
        data = (unknown + f_double(1, 1700000001.0) +
                f_bytes(6, b"\x08\x01") +  # log_message, known to TF only
                f_varint(2, 11) +
                f_bytes(5, unknown + f_bytes(1, image) + f_bytes(1, with_meta)
                        + unknown))
        path = self.write("run/events.out.tfevents.x",
                          record(HEADER_EVENT) + record(data))
        result = self.run_reader(path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "11\tkept\t4.0\n")

    def test_directory_is_read_recursively_in_sorted_order(self):
        def one_scalar(tag):
            return record(HEADER_EVENT) + record(event(1.0, 1, None,
                                                       [value(tag, 1.0)]))
        self.write("b/events.out.tfevents.1", one_scalar("from_b"))
        self.write("a/deep/events.out.tfevents.2", one_scalar("from_a_deep"))
        self.write("events.out.tfevents.0", one_scalar("from_top"))
        self.write("a/notes.txt", b"not an event file")
        result = self.run_reader(str(self.dir))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([line.split("\t")[1]
                          for line in result.stdout.splitlines()],
                         ["from_a_deep", "from_b", "from_top"])

    def test_directory_without_event_files(self):
        result = self.run_reader(str(self.dir))
        self.assertEqual(result.returncode, 1)
        self.assertIn("no file with 'tfevents'", result.stderr)


class DamageTest(ReaderTestCase):
    """Each damaged file exits 1 with one line naming file, record and byte."""

    RECORDS = [record(HEADER_EVENT),
               record(event(1.0, 1, None, [value("first", 1.0)])),
               record(event(2.0, 2, None, [value("second", 2.0)]))]
    SECOND = len(RECORDS[0])  # byte where record 1 starts
    THIRD = SECOND + len(RECORDS[1])

    def assert_damage(self, blob, index, offset, what):
        path = self.write("events.out.tfevents.bad", blob)
        result = self.run_reader(path)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr,
                         rf"\Aread_events: {re.escape(path)}: record {index} "
                         rf"at byte {offset}: {what}.*\n\Z")
        return result

    def test_flipped_data_byte(self):
        blob = bytearray(b"".join(self.RECORDS))
        blob[self.THIRD + 12 + 3] ^= 0x01
        result = self.assert_damage(bytes(blob), 2, self.THIRD,
                                    "data CRC mismatch")
        # Records before the damage were already printed.
        self.assertEqual(result.stdout, "1\tfirst\t1.0\n")

    def test_flipped_length_byte(self):
        blob = bytearray(b"".join(self.RECORDS))
        blob[self.SECOND] ^= 0x04
        self.assert_damage(bytes(blob), 1, self.SECOND, "length CRC mismatch")

    def test_truncated_data(self):
        blob = b"".join(self.RECORDS)[:-6]
        self.assert_damage(blob, 2, self.THIRD, "truncated: length")

    def test_truncated_header(self):
        blob = b"".join(self.RECORDS)[:self.THIRD + 5]
        self.assert_damage(blob, 2, self.THIRD, "truncated header: 5 of 12")

    def test_malformed_protobuf_with_good_crcs(self):
        # A length-delimited field claiming 100 bytes when 3 follow.
        bad = record(key(5, 2) + varint(100) + b"abc")
        self.assert_damage(self.RECORDS[0] + bad, 1, self.SECOND,
                           "malformed Event: Event: 100-byte field")

    def test_unterminated_varint(self):
        bad = record(key(2, 0) + b"\x80\x80")
        self.assert_damage(self.RECORDS[0] + bad, 1, self.SECOND,
                           "malformed Event: Event: varint at byte 1 runs")

    def test_invalid_wire_type(self):
        bad = record(key(2, 7) + b"\x00")
        self.assert_damage(self.RECORDS[0] + bad, 1, self.SECOND,
                           "malformed Event: Event: invalid wire type 7")

    def test_known_field_with_wrong_wire_type(self):
        bad = record(event(1.0) + f_bytes(5, f_bytes(1, f_varint(2, 1))))
        self.assert_damage(self.RECORDS[0] + bad, 1, self.SECOND,
                           r"malformed Event: Summary.value\[0\].simple_value "
                           "has wire type 0, expected 5")

    def test_first_event_without_file_version(self):
        self.assert_damage(b"".join(self.RECORDS[1:]), 0, 0,
                           "first event has no file_version")

    def test_first_event_with_wrong_file_version(self):
        blob = record(event(1.0, file_version="lantern:1")) + self.RECORDS[1]
        self.assert_damage(blob, 0, 0, "file_version 'lantern:1' does not")

    def test_empty_file(self):
        self.assert_damage(b"", 0, 0, "empty file")


if __name__ == "__main__":
    unittest.main()
