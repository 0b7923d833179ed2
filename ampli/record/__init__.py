"""What a run writes and keeps: the run directory's atomic files and manifest (store.py), its one-writer lock, its
identity (fingerprint and name, run_identity.py, with the frozen v1 fingerprint), the stages a reinit run adopts
from its continual twin, which ampli produced it, what it prints (console.py), its W&B run (tracking.py), and the
cache of models ampli builds itself.

May import: config (the packages below it in ampli.LAYERS).
"""
