"""Writes one Avro record with Apache Avro's own Python implementation (Debian's python3-avro) and
frames it by hand in the Schema Registry wire format: byte 0, the 4-byte big-endian schema id, the
Avro binary. Prints the framed bytes as hex. Arguments: schema id, the schema (JSON), the record (JSON)."""
import datetime
import io
import json
import struct
import sys

import avro.io
import avro.schema

schema_id, schema_text, record_text = int(sys.argv[1]), sys.argv[2], sys.argv[3]
schema = avro.schema.parse(schema_text)
record = json.loads(record_text)
# Apache Avro takes a timestamp-millis as a datetime: top-level ISO 8601 texts become one.
for field in json.loads(schema_text)["fields"]:
    if isinstance(field["type"], dict) and field["type"].get("logicalType") == "timestamp-millis":
        record[field["name"]] = datetime.datetime.fromisoformat(record[field["name"]].replace("Z", "+00:00"))
out = io.BytesIO()
out.write(struct.pack(">bI", 0, schema_id))
avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(out))
print(out.getvalue().hex())
