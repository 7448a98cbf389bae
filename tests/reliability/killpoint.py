"""`python killpoint.py POINT N COTPD-ARGS...`: run `cotpd COTPD-ARGS` in this process, and
SIGKILL it the N-th time it reaches POINT, in the middle of the write there. The kill lands
where the test says by construction, however fast or slow the machine is:

- `caption-batch`: the N-th batch of captions appended to captions.jsonl, all of it on disk
  but the second half of its last line (a torn last line);
- `store-row`: the N-th answer committed to the knowledge store;
- `rename:NAME`: the N-th atomic write of a file whose path ends in /NAME, its temporary
  file whole and fsynced beside it, not yet renamed into place;
- `trainer-state`: the `trainer_state.json` of the N-th checkpoint, half of it written (a
  torn checkpoint: its weights and optimizer are there, its state is cut off).

Everything else is the real command; a point never reached lets the command finish (the
test then sees exit 0, not -9)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Counter:
    def __init__(self, at: int) -> None:
        self.at, self.seen = at, 0

    def hit(self) -> bool:
        self.seen += 1
        return self.seen == self.at


def arm(point: str, at: int) -> None:
    count = Counter(at)
    if point == "caption-batch":
        import cotpd.caption.stage as stage

        append = stage._append

        def torn_append(handle: Any, records: list[dict[str, Any]]) -> None:
            if not count.hit():
                return append(handle, records)
            lines = [(json.dumps(r, ensure_ascii=False) + "\n").encode() for r in records]
            handle.write(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
            handle.flush()
            os.fsync(handle.fileno())
            die()

        stage._append = torn_append
    elif point == "store-row":
        from cotpd.teacher.store import KnowledgeStore

        put = KnowledgeStore.put

        def put_then_die(self: KnowledgeStore, *args: Any, **kwargs: Any) -> None:
            put(self, *args, **kwargs)
            if count.hit():
                die()

        KnowledgeStore.put = put_then_die
    elif point.startswith("rename:"):
        name, replace = point.split(":", 1)[1], os.replace

        def replace_or_die(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if Path(dst).as_posix().endswith("/" + name) and count.hit():
                die()
            return replace(src, dst, *args, **kwargs)

        os.replace = replace_or_die
    elif point == "trainer-state":
        from transformers.trainer_callback import TrainerState

        save = TrainerState.save_to_json

        def torn_state(self: TrainerState, json_path: str) -> None:
            if Path(json_path).parent.name.startswith("checkpoint-") and count.hit():
                text = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)
                with open(json_path, "w", encoding="utf-8") as handle:
                    handle.write(text[: len(text) // 2])
                    handle.flush()
                    os.fsync(handle.fileno())
                die()
            return save(self, json_path)

        TrainerState.save_to_json = torn_state
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    arm(sys.argv[1], int(sys.argv[2]))
    from cotpd.pipeline.cli import main

    sys.argv = ["cotpd", *sys.argv[3:]]
    main()
