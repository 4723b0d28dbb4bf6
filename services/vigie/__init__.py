"""Vigie: the event bus between social landlords and the police and gendarmerie of Oise.

Reading order: ``contracts`` (what crosses the bus), ``reference`` and ``routing`` (who is
competent, pure logic), ``acks`` (acknowledgement rules), ``pipeline`` (what each stage does
with one message, Kafka-free), ``kafka`` (the one place that builds Kafka clients, topics,
publishing, reading, ACLs), ``workers`` (the transactional worker around the pipeline),
``broker`` (the local Kafka), ``cli`` (the ``vigie`` command). README.md's architecture section
says which may import which.
"""

__version__ = "0.1.0"
