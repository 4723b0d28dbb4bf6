"""Everything that talks to Kafka outside the routing engine's transaction logic.

One package so that a client cannot be built in a way that forgets the secured cluster's
settings (a bare bootstrap string ignores TLS and the SASL login), and so that the rules the
broker enforces — topic layout, keys and partitions, ACLs — each have one home:

* ``clients``: the only place that builds an aiokafka or librdkafka client, from ``Settings``;
* ``admin``: the topics Vigie needs and their partitions;
* ``publish``: records as the contract wants them (partner and reference records), published
  at once, at a steady rate, or with the partner's acknowledgements awaited;
* ``follow``: reading topics from outside any consumer group (a unit's routed events);
* ``acl``: who may do what on the broker, applied through confluent-kafka's admin API;
* ``errors``: Kafka failures said plainly, in French, for the partner- and unit-facing tools.

Domain packages (``contracts``, ``reference``, ``routing``, ``acks``, ``pipeline``) never
import this package; adapters (``workers``, ``cli``, ``console``, ``broker``) do.
"""
