"""The worker process: the transactional routing engine (``engine``), its per-partition state
(``state``), reference loading, HTTP endpoint and supervisor. Logic lives in ``vigie.pipeline``.
"""
