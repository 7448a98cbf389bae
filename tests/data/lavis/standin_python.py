"""Test-only stand-in for the LAVIS environment's python, as caption.lavis.python points at
it (through a shell wrapper): runs `-m cotpd.caption.lavis_worker ...` unchanged, except that
LAVIS's create_eva_vit_g (a fixed 1B-parameter ViT) builds the tiny one of tiny_lavis.py,
which still loads the file LAVIS resolves for eva_vit_g.pth."""

import runpy
import sys

from tiny_lavis import use_tiny_vision_encoder

if sys.argv[1:3] != ["-m", "cotpd.caption.lavis_worker"]:
    sys.exit(f"standin_python.py runs only `-m cotpd.caption.lavis_worker`, not {sys.argv[1:]}")
use_tiny_vision_encoder()
sys.argv = [sys.argv[0], *sys.argv[3:]]
runpy.run_module("cotpd.caption.lavis_worker", run_name="__main__", alter_sys=True)
