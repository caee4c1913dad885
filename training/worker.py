"""The training process: the same code alone, under ``torchrun`` on N processes, or in a Kubernetes Job.

``python -m training.worker --run-dir DIR`` reads ``DIR/run_config.json`` and ``DIR/arrays.npz``
(written by ``training.pipeline``) and trains. Under ``torchrun`` (``WORLD_SIZE`` > 1) it joins the
process group (gloo on CPU, nccl on CUDA), wraps the model in DistributedDataParallel and shards
each epoch with a DistributedSampler.

Why one process and N processes take the same steps: the sampler's permutation depends only on
(seed, epoch); rank r takes positions r, r+N, ... of it, so the N per-rank batches of step b are
together exactly the single process's batch b of the same global size; each rank's loss is a mean
over an equal share and DDP averages the gradients, so the update equals the global-batch update up
to floating-point summation order. The model has no dropout or batch norm (``training.model``).

Early stopping: after every epoch rank 0 scores the early-stopping slice (the last days of the training
window, never trained on) and keeps the weights of the epoch with the best PR-AUC there in ``best_model.pt``;
after ``patience`` epochs without a better one every rank stops (rank 0's decision is broadcast). The held-out
validation window is reported per epoch but chooses nothing, so its numbers stay an honest estimate.

Checkpoints: after every epoch rank 0 writes ``checkpoints/epoch-NNNN.pt`` (model, optimiser, epoch, the best
epoch so far) atomically; a restarted run resumes after the newest one. Shuffling is a pure function of
(seed, epoch) and nothing else is random after initialisation, so an interrupted and resumed run
ends with the same weights as one that never stopped.

At the end rank 0 writes ``final_model.pt`` (the best epoch's weights) and every rank writes ``param-digest-rank<R>.txt``
(sha256 of its parameters), which the launcher compares: ranks that diverged fail the run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from environments.errors import ConfigError
from training.metrics import average_precision
from training.model import FraudScorer, ModelSpec

RUN_CONFIG_FILE = "run_config.json"
ARRAYS_FILE = "arrays.npz"
CHECKPOINT_DIR = "checkpoints"
FINAL_MODEL_FILE = "final_model.pt"
BEST_MODEL_FILE = "best_model.pt"
PROGRESS_FILE = "progress.jsonl"
DIGEST_PATTERN = "param-digest-rank{rank}.txt"
WEIGHT_DECAY = 1e-4


@dataclass(frozen=True)
class RunConfig:
    """Everything a training process needs besides the arrays (``run_config.json``)."""

    epochs: int
    global_batch_size: int
    learning_rate: float
    seed: int
    device: str
    model: ModelSpec
    patience: int = 3

    def save(self, run_dir: Path) -> None:
        (run_dir / RUN_CONFIG_FILE).write_text(json.dumps({**asdict(self), "model": self.model.to_dict()}, indent=2))

    @classmethod
    def load(cls, run_dir: Path) -> RunConfig:
        data = json.loads((run_dir / RUN_CONFIG_FILE).read_text())
        return cls(**{**data, "model": ModelSpec(**data["model"])})


@dataclass(frozen=True)
class EpochReport:
    """One finished epoch, as rank 0 saw it (also appended to ``progress.jsonl``).

    ``train_loss`` is rank 0's mean over its shard; ``samples`` counts every rank's rows and ``seconds``
    is training time only (the validation pass after it is not included).
    """

    epoch: int
    epochs: int
    train_loss: float
    validation_loss: float
    validation_pr_auc: float
    samples: int
    seconds: float
    world_size: int
    early_stopping_pr_auc: float = float("nan")
    best_epoch: int = 0


@dataclass(frozen=True)
class _Distributed:
    rank: int
    local_rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def train_process(
    run_dir: Path,
    *,
    stop_after_epoch: int | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> list[EpochReport]:
    """Train (or resume) the run in ``run_dir`` in this process, as one rank of the world torchrun set up.

    ``stop_after_epoch`` ends the process right after that epoch's checkpoint, as a preemption would.
    """
    run_dir = Path(run_dir)
    config = RunConfig.load(run_dir)
    where = _join_process_group(config.device)
    device = _device(config.device, where)
    if config.global_batch_size % where.world_size:
        raise ConfigError(
            f"'training.batch_size' ({config.global_batch_size}) must be divisible by the number of processes "
            f"({where.world_size})"
        )
    if device.type == "cpu":
        # One thread per process: a batch of 512 through a 64-wide MLP is far too small for
        # intra-op threads, which only contend with the other ranks (measured 0.5 s vs 9.7 s an epoch).
        torch.set_num_threads(1)
    arrays = np.load(run_dir / ARRAYS_FILE)
    train = [torch.from_numpy(arrays[f"train_{part}"]).to(device) for part in ("categorical", "numeric", "label")]
    validation = [torch.from_numpy(arrays[f"validation_{part}"]).to(device) for part in ("categorical", "numeric", "label")]
    stopping = [torch.from_numpy(arrays[f"stop_{part}"]).to(device) for part in ("categorical", "numeric", "label")]

    torch.manual_seed(config.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    model = FraudScorer(config.model).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=WEIGHT_DECAY)
    done, best = _resume(run_dir, model, optimizer, device)
    trained = DistributedDataParallel(model) if where.world_size > 1 else model
    sampler: DistributedSampler[int] = DistributedSampler(
        range(len(train[2])),  # type: ignore[arg-type]  # the sampler only takes len() of its dataset
        num_replicas=where.world_size, rank=where.rank, shuffle=True, seed=config.seed,
        drop_last=True,
    )
    local_batch = config.global_batch_size // where.world_size
    loss_fn = nn.BCEWithLogitsLoss()
    reports: list[EpochReport] = []
    for epoch in range(done + 1, config.epochs + 1):
        started = time.perf_counter()
        sampler.set_epoch(epoch)
        indices = torch.tensor(list(sampler), dtype=torch.long, device=device)
        trained.train()
        loss_sum, seen = 0.0, 0
        for batch in indices.split(local_batch):
            optimizer.zero_grad(set_to_none=True)
            logits = trained(train[0][batch], train[1][batch])  # [members, batch]: each member learns from its own loss
            loss = loss_fn(logits, train[2][batch].expand_as(logits))
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(batch)
            seen += len(batch)
        patience_spent = False
        if where.is_main:
            seconds = time.perf_counter() - started
            validation_loss, pr_auc = _validation_loss_and_pr_auc(model, validation, loss_fn)
            _, stopping_pr_auc = _validation_loss_and_pr_auc(model, stopping, loss_fn)
            if best.epoch == 0 or stopping_pr_auc > best.pr_auc:  # NaN (a slice without fraud) never beats the first
                best = _Best(epoch, float("-inf") if math.isnan(stopping_pr_auc) else stopping_pr_auc)
                _atomic_save({"model": model.state_dict(), "spec": config.model.to_dict()}, run_dir / BEST_MODEL_FILE)
            report = EpochReport(
                epoch=epoch, epochs=config.epochs, train_loss=loss_sum / max(seen, 1), validation_loss=validation_loss,
                validation_pr_auc=pr_auc, samples=seen * where.world_size, seconds=seconds, world_size=where.world_size,
                early_stopping_pr_auc=stopping_pr_auc, best_epoch=best.epoch,
            )
            _save_checkpoint(run_dir, model, optimizer, epoch, best)
            with (run_dir / PROGRESS_FILE).open("a") as handle:
                handle.write(json.dumps(asdict(report)) + "\n")
            reports.append(report)
            if on_epoch:
                on_epoch(report)
            patience_spent = epoch - best.epoch >= config.patience
        if where.world_size > 1:
            patience_spent = _broadcast_flag(patience_spent, device)
        if patience_spent:
            break
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < config.epochs:
            _leave_process_group(where)
            return reports
    if where.is_main:
        best_state = torch.load(run_dir / BEST_MODEL_FILE, map_location="cpu", weights_only=True)
        _atomic_save(best_state, run_dir / FINAL_MODEL_FILE)
    (run_dir / DIGEST_PATTERN.format(rank=where.rank)).write_text(parameter_digest(model) + "\n")
    _leave_process_group(where)
    return reports


def parameter_digest(model: nn.Module) -> str:
    """sha256 over every parameter's bytes, in ``state_dict`` order: equal only if bit-identical."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest ``checkpoints/epoch-NNNN.pt``, or ``None``."""
    found = sorted((Path(run_dir) / CHECKPOINT_DIR).glob("epoch-*.pt"))
    return found[-1] if found else None


def load_final_model(run_dir: Path) -> FraudScorer:
    """The trained model of a finished run (on the CPU, in eval mode)."""
    saved = torch.load(Path(run_dir) / FINAL_MODEL_FILE, map_location="cpu", weights_only=True)
    model = FraudScorer(ModelSpec(**saved["spec"]))
    model.load_state_dict(saved["model"])
    return model.eval()


def _validation_loss_and_pr_auc(
    model: FraudScorer, validation: list[torch.Tensor], loss_fn: nn.Module
) -> tuple[float, float]:
    """Rank 0's view of the held-out window after an epoch (the whole window in one batch: it is small)."""
    model.eval()
    with torch.no_grad():
        logits = model(validation[0], validation[1])
        loss = float(loss_fn(logits, validation[2].expand_as(logits)))
        pr_auc = average_precision(validation[2].cpu().numpy(), torch.sigmoid(logits).mean(dim=0).cpu().numpy())
    return loss, pr_auc


@dataclass(frozen=True)
class _Best:
    """The epoch whose weights ``best_model.pt`` holds (0: none yet) and its early-stopping PR-AUC."""

    epoch: int
    pr_auc: float


def _resume(
    run_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device
) -> tuple[int, _Best]:
    """Load the newest checkpoint if there is one; return the epochs it completed and the best epoch so far."""
    path = latest_checkpoint(run_dir)
    if path is None:
        return 0, _Best(0, float("-inf"))
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epoch"]), _Best(int(state["best_epoch"]), float(state["best_pr_auc"]))


def _save_checkpoint(run_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, best: _Best) -> None:
    folder = run_dir / CHECKPOINT_DIR
    folder.mkdir(exist_ok=True)
    _atomic_save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
         "best_epoch": best.epoch, "best_pr_auc": best.pr_auc},
        folder / f"epoch-{epoch:04d}.pt",
    )


def _broadcast_flag(flag: bool, device: torch.device) -> bool:
    """Rank 0's decision, on every rank (so that all ranks stop after the same epoch)."""
    tensor = torch.tensor([1 if flag else 0], dtype=torch.int64, device=device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def _atomic_save(state: dict, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def _join_process_group(device: str) -> _Distributed:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    where = _Distributed(int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world_size)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return where


def _leave_process_group(where: _Distributed) -> None:
    if where.world_size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def _device(name: str, where: _Distributed) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"'--device cuda' needs a CUDA GPU, and torch {torch.__version__} sees none; use '--device cpu'"
            )
        torch.cuda.set_device(where.local_rank)
        return torch.device("cuda", where.local_rank)
    return torch.device("cpu")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One training process (run it under torchrun for several).")
    parser.add_argument("--run-dir", required=True, type=Path, help="Folder with run_config.json and arrays.npz.")
    parser.add_argument("--stop-after-epoch", type=int, default=None, help="Stop after this epoch (preemption drill).")
    args = parser.parse_args(argv)
    train_process(args.run_dir, stop_after_epoch=args.stop_after_epoch)


if __name__ == "__main__":
    main()
