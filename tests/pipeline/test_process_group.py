"""The CLI tears a distributed process group down after a command that succeeded."""

from pathlib import Path

import torch.distributed as dist
from cotpd.pipeline.cli import close_process_group


def test_an_initialized_group_is_destroyed(tmp_path: Path) -> None:
    # A file rendezvous: no port to find for a group of one.
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0,
                            world_size=1)
    assert dist.is_initialized()
    close_process_group()
    assert not dist.is_initialized()


def test_without_a_group_it_does_nothing() -> None:
    assert not dist.is_initialized()
    close_process_group()
    assert not dist.is_initialized()
