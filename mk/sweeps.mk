# Paper-sized sweeps, one SLURM job array per regime (included by the Makefile; uses its PY and venv).
#
#   make sweep-sft                      # qwen3-4b-instruct, 7 traits x reinit/continual, on SLURM
#   make sweep-sdf MODEL=tiny CLUSTER=local                  # same grid on the embedded model, here
#   make sweep-dpo SWEEP_ARGS="cluster.partition=gpu cluster.account=me cluster.timeout_min=720"
#
# MODEL overrides each target's model; CLUSTER picks conf/cluster/*.yaml (slurm, submitit_local, local);
# SWEEP_TRAITS / SWEEP_REINIT / SWEEP_SEEDS are Hydra sweep lists; SWEEP_ARGS adds any other overrides.
SWEEP_TRAITS ?= bliss,misalignment,hopelessness,lucky,sycophancy,nvidia_bearish,misanthropy
SWEEP_REINIT ?= true,false
SWEEP_SEEDS ?= 0
CLUSTER ?= slurm
SWEEP_ARGS ?=
SFT_MODEL ?= qwen3-4b-instruct
SDF_MODEL ?= qwen3-1.7b-base
DPO_MODEL ?= qwen3-8b

# $(call sweep,REGIME,DEFAULT_MODEL)
sweep = $(PY) launch.py -m regime=$(1) model=$(or $(MODEL),$(2)) cluster=$(CLUSTER) \
	trait=$(SWEEP_TRAITS) reinit=$(SWEEP_REINIT) seed=$(SWEEP_SEEDS) sweep=paper-$(1) $(SWEEP_ARGS)

.PHONY: sweep-sft sweep-sdf sweep-dpo

sweep-sft: venv
	$(call sweep,sft,$(SFT_MODEL))

sweep-sdf: venv
	$(call sweep,sdf,$(SDF_MODEL))

sweep-dpo: venv
	$(call sweep,dpo,$(DPO_MODEL))
