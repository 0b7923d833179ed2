"""Calling hosted models, for judges and teachers alike: the request pool (api_pool.py), API keys (credentials.py),
and what the calls cost and the spending limit (spending.py).

May import: config, record (the packages below it in ampli.LAYERS).
"""
