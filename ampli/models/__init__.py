"""The model a cycle starts from and trains into: where the weights come from (weights.py: the tiny model, the hub, a
GGUF copy), how a cycle's model is loaded (sources.py), the LoRA targets, the chat rendering, the training plan
(training_plan.py: start model, reference, learning rate, batch) and what every TRL trainer shares (training.py).

May import: config, record, hosted, inputs (the packages below it in ampli.LAYERS).
"""
