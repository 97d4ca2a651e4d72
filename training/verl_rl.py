"""`synthml train rl`: verl's PPO trainer (`python -m verl.trainer.main_ppo`, verl 0.9.1) with GRPO, multi-turn,
each sample one SynthML-v0 episode played by `SynthMLAgentLoop`, its reward the env's terminal reward.

Rows come from a bank: one per task and seed, with the opening messages as `prompt` (what verl measures
and logs), `agent_name: synthml`, and the task dir and seed in `extra_info`; verl repeats each row
`rollout.n` times, a GRPO group of episodes of one task. The resolved config and the exact command are
saved as OUT/rl.json before the run, beside OUT/agent_loop.yaml, the loop's registration with the run's
step limit, sandbox and the file its episodes' trajectories go to (OUT/trajectories.jsonl).
"""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from synthml.agents.agent_config import AgentConfig
from synthml.agents.turn import opening_messages
from synthml.envs.sandbox.config import SandboxField
from synthml.errors import SynthMLError
from synthml.tasks.selection import resolve_tasks
from synthml.tasks.task import load_task
from synthml.training.episodes import plan_episodes
from synthml.training.verl_sft import check_overrides, hydra_args, require_verl

RESOLVED, ROWS, AGENT_LOOP, TRAJECTORIES = "rl.json", "rl_train.parquet", "agent_loop.yaml", "trajectories.jsonl"
AGENT_NAME = "synthml"
"""The rows' agent_name, and the name the agent loop is registered under."""
AGENT_LOOP_CLASS = "synthml.training.verl_agent_loop.SynthMLAgentLoop"


class RLConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: str = Field(description="A bank dir (its accepted tasks), optionally :ID1,ID2.")
    model: Path = Field(description="The policy: a local Hugging Face model folder (e.g. the SFT student).")
    out: Path = Field(description="Where rows, checkpoints and the resolved config go.")
    gpus: int = Field(1, ge=1, description="GPUs on this node.")
    n: int = Field(8, ge=2, description="Episodes per task per step (a GRPO group).")
    seeds: int = Field(1, ge=1, description="Rows per task, each with its own episode seed.")
    max_steps: int = Field(30, ge=1, description="Env steps per episode (the agent loop's budget).")
    batch_size: int = Field(8, ge=1, description="Rows (task, seed) per training step.")
    max_prompt_length: int = Field(4096, ge=256, description="Tokens of the opening messages.")
    max_response_length: int = Field(16384, ge=256, description="Tokens of every turn after them, both sides.")
    lr: float = Field(1e-6, gt=0, description="Actor learning rate.")
    epochs: int = Field(1, ge=1, description="Passes over the rows.")
    save_freq: int = Field(10, ge=1, description="Training steps between checkpoints (with Hugging Face weights).")
    sandbox: SandboxField = Field("bwrap", validate_default=True, description="Sandbox of every episode.")
    overrides: list[str] = Field(default_factory=list, description="verl keys as key=value, applied last.")

    def argv(self) -> list[str]:
        tokens = self.max_prompt_length + self.max_response_length
        keys = {
            "algorithm.adv_estimator": "grpo", "data.train_files": self.out / ROWS, "data.val_files": self.out / ROWS,
            "data.train_batch_size": self.batch_size, "data.max_prompt_length": self.max_prompt_length,
            "data.max_response_length": self.max_response_length, "data.return_raw_chat": True,
            "actor_rollout_ref.model.path": self.model, "actor_rollout_ref.actor.optim.lr": self.lr,
            "actor_rollout_ref.actor.ppo_mini_batch_size": self.batch_size,
            "actor_rollout_ref.actor.use_dynamic_bsz": True,
            "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": tokens,
            "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz": True,
            "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu": tokens,
            "actor_rollout_ref.actor.checkpoint.save_contents": "[model,optimizer,extra,hf_model]",
            "actor_rollout_ref.rollout.name": "vllm", "actor_rollout_ref.rollout.mode": "async",
            "actor_rollout_ref.rollout.tensor_model_parallel_size": 1,
            "actor_rollout_ref.rollout.n": self.n, "actor_rollout_ref.rollout.multi_turn.enable": True,
            "actor_rollout_ref.rollout.agent.agent_loop_config_path": self.out / AGENT_LOOP,
            "actor_rollout_ref.rollout.agent.default_agent_loop": AGENT_NAME,
            "trainer.n_gpus_per_node": self.gpus, "trainer.nnodes": 1, "trainer.total_epochs": self.epochs,
            "trainer.save_freq": self.save_freq, "trainer.val_before_train": False,
            "trainer.default_local_dir": self.out / "checkpoints", "trainer.logger": "[console]",
            "trainer.project_name": "synthml", "trainer.experiment_name": self.out.name,
        }
        return [sys.executable, "-m", "verl.trainer.main_ppo", *hydra_args(keys), *self.overrides]


def rl_rows(config: RLConfig) -> list[dict]:
    """One row per task and seed: the prompt verl sees, the agent loop's name, the task and seed it plays."""
    agent = AgentConfig(max_steps=config.max_steps)
    rows = []
    for index, episode in enumerate(plan_episodes(resolve_tasks(config.tasks).tasks, config.seeds)):
        prompt = opening_messages(agent, load_task(episode.task.spec).description, config.max_steps)
        rows.append({"prompt": prompt, "data_source": "synthml", "agent_name": AGENT_NAME,
                     "reward_model": {"style": "env", "ground_truth": ""},
                     "extra_info": {"task": episode.task.spec, "task_id": episode.task.id, "seed": episode.seed,
                                    "index": index}})
    return rows


def run_rl(config: RLConfig, dry_run: bool = False) -> int:
    """Writes the rows and OUT/rl.json, then runs the trainer; returns its exit code."""
    check_overrides(config.overrides)
    if not (config.model / "config.json").is_file():
        raise SynthMLError(f"--model {config.model}: no config.json; pass a local Hugging Face model folder")
    config.out.mkdir(parents=True, exist_ok=True)
    _write_rows(config.out / ROWS, rl_rows(config))
    (config.out / AGENT_LOOP).write_text(yaml.safe_dump([{
        "name": AGENT_NAME, "_target_": AGENT_LOOP_CLASS, "max_steps": config.max_steps,
        "sandbox": config.sandbox.model_dump(mode="json"),
        "trajectories": str((config.out / TRAJECTORIES).resolve())}]))
    argv = config.argv()
    resolved = {"config": json.loads(config.model_dump_json()), "command": shlex.join(argv)}
    (config.out / RESOLVED).write_text(json.dumps(resolved, indent=2) + "\n")
    if dry_run:
        return 0
    require_verl()
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise SynthMLError("train rl generates with vLLM: pip install vllm (CUDA torch, on the GPU machine)") from None
    return subprocess.run(argv, check=False).returncode


def _write_rows(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
