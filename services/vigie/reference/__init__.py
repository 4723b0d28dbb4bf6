"""Reference data: communes (geometry), competence table, units, sites, and the snapshot.

Everything here is pure (no Kafka): workers feed ``ReferenceStore`` from the compacted
``ref.*`` topics and hand ``ReferenceStore.snapshot()`` to the routing policy.
"""
