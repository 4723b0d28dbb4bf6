"""The partner gateway: landlords without Kafka publish over HTTPS and follow their events.

An adapter at the edge, like ``vigie.workers``: it checks a partner's JSON with the workers'
own model check and validation (``contracts.codec.model_check``, ``contracts.validation``),
publishes it with the contract's key rule (``kafka.publish.partner_record``) and answers
what the acknowledgements say, read back from the partner's own acks topic. It keeps no
state of its own: several replicas may run side by side (docs/gateway.md).
"""
