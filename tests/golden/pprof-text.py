#!/usr/bin/env python3
"""pprof-text.py < profile.pb.gz: a pprof profile as text, for golden files.

Decodes profile.proto (github.com/google/pprof, proto/profile.proto) field by field, in
the order the file holds them, one line per top-level field, with the proto's field names; string-table references are
followed by the string they name. The gzip wrapper is opened first, so neither its header
(mtime, OS byte) nor zlib's choice of compressed bytes reach the text: two profiles print
the same exactly when their messages are the same. Fields this table does not know print
as their number, so a newer writer's additions show up in a diff instead of vanishing.
No dependencies beyond Python's standard library (go tool pprof -raw would tie the golden
text to one Go release's formatting)."""
import gzip
import sys

# message -> field number -> (name, kind, submessage); kinds: msg, str (a string-table
# index), int, hex (an address), bool, bytes (the string table itself).
SCHEMA = {
    "Profile": {
        1: ("sample_type", "msg", "ValueType"),
        2: ("sample", "msg", "Sample"),
        3: ("mapping", "msg", "Mapping"),
        4: ("location", "msg", "Location"),
        5: ("function", "msg", "Function"),
        6: ("string_table", "bytes", None),
        7: ("drop_frames", "str", None),
        8: ("keep_frames", "str", None),
        9: ("time_nanos", "int", None),
        10: ("duration_nanos", "int", None),
        11: ("period_type", "msg", "ValueType"),
        12: ("period", "int", None),
        13: ("comment", "str", None),
        14: ("default_sample_type", "str", None),
        15: ("doc_url", "str", None),
    },
    "ValueType": {1: ("type", "str", None), 2: ("unit", "str", None)},
    "Sample": {
        1: ("location_id", "int", None),
        2: ("value", "int", None),
        3: ("label", "msg", "Label"),
    },
    "Label": {
        1: ("key", "str", None),
        2: ("str", "str", None),
        3: ("num", "int", None),
        4: ("num_unit", "str", None),
    },
    "Mapping": {
        1: ("id", "int", None),
        2: ("memory_start", "hex", None),
        3: ("memory_limit", "hex", None),
        4: ("file_offset", "hex", None),
        5: ("filename", "str", None),
        6: ("build_id", "str", None),
        7: ("has_functions", "bool", None),
        8: ("has_filenames", "bool", None),
        9: ("has_line_numbers", "bool", None),
        10: ("has_inline_frames", "bool", None),
    },
    "Location": {
        1: ("id", "int", None),
        2: ("mapping_id", "int", None),
        3: ("address", "hex", None),
        4: ("line", "msg", "Line"),
        5: ("is_folded", "bool", None),
    },
    "Line": {1: ("function_id", "int", None), 2: ("line", "int", None), 3: ("column", "int", None)},
    "Function": {
        1: ("id", "int", None),
        2: ("name", "str", None),
        3: ("system_name", "str", None),
        4: ("filename", "str", None),
        5: ("start_line", "int", None),
    },
}


class Corrupt(Exception):
    pass


def varint(buf, pos):
    shift = value = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise Corrupt("truncated varint at byte %d" % pos)
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def fields(buf):
    """(field number, wire type, value) in file order; value is an int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            value, pos = varint(buf, pos)
        elif wt == 2:
            n, pos = varint(buf, pos)
            if pos + n > len(buf):
                raise Corrupt("field %d runs past its message" % num)
            value, pos = buf[pos:pos + n], pos + n
        elif wt == 1 or wt == 5:
            n = 8 if wt == 1 else 4
            value, pos = int.from_bytes(buf[pos:pos + n], "little"), pos + n
        else:
            raise Corrupt("wire type %d of field %d" % (wt, num))
        yield num, wt, value


def packed(data):
    out, pos = [], 0
    while pos < len(data):
        v, pos = varint(data, pos)
        out.append(v)
    return out


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def quote(b):
    s = b.decode("utf-8", "backslashreplace")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def scalar(kind, v, strings):
    if kind == "hex":
        return "0x%x" % v
    if kind == "bool":
        return "true" if v else "false"
    if kind == "str":
        name = quote(strings[v]) if 0 <= v < len(strings) else "<no such string>"
        return "%d %s" % (v, name)
    return str(signed(v))


def dump(buf, msg, strings):
    """The fields of one message as 'name: value' items; a submessage nests in braces."""
    schema = SCHEMA[msg]
    items = []
    for num, wt, value in fields(buf):
        name, kind, sub = schema.get(num, ("field_%d" % num, "raw", None))
        if kind == "msg" and wt == 2:
            inner = dump(value, sub, strings)
            items.append("%s { %s }" % (name, " ".join(inner)) if inner else "%s {}" % name)
        elif kind == "bytes" or (kind == "raw" and wt == 2):
            items.append("%s: %s" % (name, quote(value)))
        elif wt == 2:  # a packed repeated scalar
            items.append("%s: [%s]" % (name, " ".join(scalar(kind, v, strings) for v in packed(value))))
        else:
            items.append("%s: %s" % (name, scalar(kind, value, strings)))
    return items


def main():
    data = sys.stdin.buffer.read()
    try:
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        strings = [v for num, wt, v in fields(raw) if num == 6 and wt == 2]
        # One line per field of the Profile message, so a diff shows whole samples,
        # locations and functions.
        out = dump(raw, "Profile", strings)
    except (Corrupt, OSError, EOFError) as e:
        sys.stderr.write("pprof-text: not a profile: %s\n" % e)
        return 1
    sys.stdout.write("".join(line + "\n" for line in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
