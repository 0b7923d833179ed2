"""The data a run draws from: the shipped corpus and the files a run names (corpus.py), the readers of researchers'
formats and the row shapes each kind of data accepts, which prompts a cycle samples, which records it trains on,
and training lengths that fit the data.

May import: config, record, hosted (the packages below it in ampli.LAYERS).
"""
