"""The routing policy, pure: locate an event, pick the competent unit, choose the lane.

No Kafka here: the router worker calls ``decide(event, store.snapshot())``.
"""
