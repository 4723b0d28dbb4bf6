"""Vigie: the event bus between social landlords and the police and gendarmerie of Oise.

Reading order: ``contracts`` (what crosses the bus), ``reference`` and ``routing`` (who is
competent, pure logic), ``acks`` (acknowledgement rules), ``pipeline`` (what each stage does
with one message, Kafka-free), ``workers`` (the transactional aiokafka worker around it),
``broker`` (the local Kafka), ``cli`` (the ``vigie`` command).
"""

__version__ = "0.1.0"
