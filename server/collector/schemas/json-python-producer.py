"""Produces one JSON Schema value the way Confluent's serializers do, with Confluent's own Python
client (Debian's python3-confluent-kafka, python3-jsonschema): JSONSerializer registers the schema
through the registry, validates the value and frames it; the client's Producer sends it.
Arguments: registry URL, brokers, topic, order id."""
import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

registry_url, brokers, topic, order_id = sys.argv[1:5]
schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "InvoiceIssued",
    "type": "object",
    "properties": {"orderId": {"type": "string"}, "totalCents": {"type": "integer"}},
    "required": ["orderId", "totalCents"],
}
serializer = JSONSerializer(json.dumps(schema), SchemaRegistryClient({"url": registry_url}), to_dict=lambda value, ctx: value)
value = serializer({"orderId": order_id, "totalCents": 4250}, SerializationContext(topic, MessageField.VALUE))
producer = Producer({"bootstrap.servers": brokers})
producer.produce(topic, key=order_id, value=value)
if producer.flush(20) != 0:
    sys.exit("the message was not delivered")
