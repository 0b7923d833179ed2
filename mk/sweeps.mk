# Paper-sized sweeps, one SLURM job array per regime (included by the Makefile; uses its PY and venv).
#
#   make sweep-sft                      # experiment=paper_sft: 7 traits x reinit/continual, on SLURM
#   make sweep-sdf MODEL=tiny CLUSTER=local                  # the same grid on the embedded model, here
#   make sweep-dpo SWEEP_ARGS="cluster.partition=gpu cluster.account=me cluster.timeout_min=720"
#   make sweep-distill MODEL=tiny CLUSTER=local              # on-policy distillation, the authors' 2nd variant
#
# Each target applies its experiment=paper_<regime> (the paper's model and training settings). MODEL swaps the
# model: a real one keeps the paper settings; tiny or micro (embedded, CPU) use the embedded defaults instead,
# which are tuned for a 1M-parameter model. EXPERIMENT overrides the experiment. CLUSTER picks
# conf/cluster/*.yaml (slurm, submitit_local, local); SWEEP_TRAITS / SWEEP_REINIT / SWEEP_SEEDS are Hydra sweep
# lists; SWEEP_ARGS adds any other overrides.
SWEEP_TRAITS ?= bliss,misalignment,hopelessness,lucky,sycophancy,nvidia_bearish,misanthropy
SWEEP_REINIT ?= true,false
SWEEP_SEEDS ?= 0
CLUSTER ?= slurm
SWEEP_ARGS ?=
EMBEDDED_MODELS := tiny micro

# $(call sweep_experiment,REGIME): the paper's experiment, unless the model is an embedded one
sweep_experiment = $(or $(EXPERIMENT),$(if $(filter $(EMBEDDED_MODELS),$(MODEL)),,paper_$(1)))

# $(call sweep,REGIME)
sweep = $(PY) launch.py -m regime=$(1) $(addprefix experiment=,$(call sweep_experiment,$(1))) \
	$(addprefix model=,$(MODEL)) cluster=$(CLUSTER) \
	trait=$(SWEEP_TRAITS) reinit=$(SWEEP_REINIT) seed=$(SWEEP_SEEDS) sweep=paper-$(1) $(SWEEP_ARGS)

.PHONY: sweep-sft sweep-sdf sweep-dpo sweep-distill

sweep-sft: venv
	$(call sweep,sft)

sweep-sdf: venv
	$(call sweep,sdf)

sweep-dpo: venv
	$(call sweep,dpo)

sweep-distill: venv
	$(call sweep,distill)
