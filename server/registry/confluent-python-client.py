"""Drives Confluent's own Python registry client (Debian's python3-confluent-kafka) against a
registry whose URL is the first argument, under subjects prefixed with the second, and prints what
the client saw as one JSON object for confluent-python-client.int.test.ts to check."""
import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

url, prefix = sys.argv[1], sys.argv[2]
client = SchemaRegistryClient({"url": url})
subject = prefix + "-value"

v1 = json.dumps({"type": "record", "name": "OrderPlaced", "fields": [{"name": "orderId", "type": "string"}]})
v2 = json.dumps({"type": "record", "name": "OrderPlaced", "fields": [{"name": "total", "type": "double"}]})
proto = 'syntax = "proto3";\nmessage Shipped { string order_id = 1; }\n'

out = {}
out["id1"] = client.register_schema(subject, Schema(v1, "AVRO"))
out["id1Again"] = client.register_schema(subject, Schema(v1, "AVRO"))
out["id2"] = client.register_schema(subject, Schema(v2, "AVRO"))
out["protoId"] = client.register_schema(prefix + "-shipped", Schema(proto, "PROTOBUF"))

# A second client: the first one keeps what it registered in a cache and would not ask.
reader = SchemaRegistryClient({"url": url})
fetched = reader.get_schema(out["id1"])
out["byId"] = {"schema": json.loads(fetched.schema_str), "type": fetched.schema_type}
fetched_proto = reader.get_schema(out["protoId"])
out["protoById"] = {"schema": fetched_proto.schema_str, "type": fetched_proto.schema_type}

latest = client.get_latest_version(subject)
out["latest"] = {"id": latest.schema_id, "version": latest.version, "subject": latest.subject,
                 "schema": json.loads(latest.schema.schema_str)}
out["versions"] = client.get_versions(subject)
out["subjects"] = [s for s in client.get_subjects() if s.startswith(prefix)]

found = reader.lookup_schema(subject, Schema(v1, "AVRO"))
out["lookup"] = {"id": found.schema_id, "version": found.version, "subject": found.subject}

out["globalCompatibility"] = client.get_compatibility()
client.set_compatibility(subject_name=subject, level="full")
out["subjectCompatibility"] = client.get_compatibility(subject)


def error_code(call):
    try:
        call()
    except SchemaRegistryError as err:
        return err.error_code
    return None


out["unknownSubject"] = error_code(lambda: client.get_latest_version(prefix + "-missing"))
out["unknownSchema"] = error_code(lambda: client.lookup_schema(subject, Schema(json.dumps("string"), "AVRO")))
out["unknownId"] = error_code(lambda: client.get_schema(987654321))
out["invalidSchema"] = error_code(lambda: client.register_schema(subject, Schema('{"fields": []}', "AVRO")))

print(json.dumps(out))
