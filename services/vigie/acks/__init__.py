"""Acknowledgement rules: which statuses a partner may see, in which order (pure, no Kafka)."""

from vigie.acks.lifecycle import (
    FINAL_STATES,
    FIRST_OUTCOMES,
    FORCE_TO_ACK,
    ISSUED_BY_VIGIE,
    ROUTING_OUTCOMES,
    TRANSITIONS,
    accept_force_status,
    check_sequence,
    current_state,
    escalation_deadline,
    escalation_due,
    is_allowed,
    terminal_routing_outcome,
)

__all__ = [
    "FINAL_STATES",
    "FIRST_OUTCOMES",
    "FORCE_TO_ACK",
    "ISSUED_BY_VIGIE",
    "ROUTING_OUTCOMES",
    "TRANSITIONS",
    "accept_force_status",
    "check_sequence",
    "current_state",
    "escalation_deadline",
    "escalation_due",
    "is_allowed",
    "terminal_routing_outcome",
]
