"""Adapters: the faust app, its topics, tables and agents. Logic lives in ``vigie.pipeline``."""
