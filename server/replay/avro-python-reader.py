"""Reads one Schema Registry wire-format Avro value with Apache Avro's own Python implementation
(Debian's python3-avro): checks byte 0, prints the schema id and the record as JSON (bytes and
decimals as their text, dates as ISO). Arguments: the writer's schema (JSON), the framed bytes (hex)."""
import datetime
import decimal
import io
import json
import struct
import sys

import avro.io
import avro.schema

schema = avro.schema.parse(sys.argv[1])
data = bytes.fromhex(sys.argv[2])
magic, schema_id = struct.unpack(">bI", data[:5])
if magic != 0:
    raise SystemExit(f"not the wire format: byte 0 is {magic}")
record = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))


def plain(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


print(json.dumps({"schemaId": schema_id, "record": {key: plain(value) for key, value in record.items()}}))
