"""backend=tinker: each cycle's model trained and sampled on the Tinker service, the loop unchanged.

service.py   the SDK, the API key, retries, the step/token budget and the ledger of saved weights (tinker.json)
datums.py    token ids with per-token weights, as training requests carry them
training.py  one LoRA training client per cycle: cross-entropy (SFT, SDF) and DPO steps, Adam, saving weights
distill.py   on-policy distillation with the sampled-token reverse-KL estimator
sampling.py  ampli's Generator interface (samples, perplexity) over the SDK's sampling clients
regime.py    a regime whose training step is sent to the service
resume.py    retraining the cycles whose saved weights the service has deleted
connect.py   the run's regime and generator on the service
"""
