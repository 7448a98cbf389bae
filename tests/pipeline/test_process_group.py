"""The CLI tears a distributed process group down after a command that succeeded."""

import socket

import torch.distributed as dist
from cotpd.pipeline.cli import close_process_group


def test_an_initialized_group_is_destroyed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0,
                            world_size=1)
    assert dist.is_initialized()
    close_process_group()
    assert not dist.is_initialized()


def test_without_a_group_it_does_nothing() -> None:
    assert not dist.is_initialized()
    close_process_group()
    assert not dist.is_initialized()
