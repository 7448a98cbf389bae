"""The teacher's knowledge store: every answer a teacher gave, keyed by content.

One SQLite file in WAL mode holds one row per (teacher fingerprint, prompt id, prompt
version hash, sample key). Each answer is committed the moment it arrives, so a run killed at
any point keeps everything it finished, and a re-run asks only for what is missing.

A row is answered, truncated or failed. Truncated is an answer the teacher cut off at its
token limit (`finish_reason` "length", error NULL): kept, as it is often most of the
explanation, but counted apart, left out of the knowledge when the config says so, and asked
again with more tokens by `--retry-failed`. It is read from the columns every store already
has, so stores written before this distinction open unchanged and their cut-off rows count
as truncated too.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_writer
from cotpd.teacher.backend import GenerationResult

SCHEMA_VERSION = 1

_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS answers (
    teacher TEXT NOT NULL, prompt_id TEXT NOT NULL, prompt_hash TEXT NOT NULL,
    sample_key TEXT NOT NULL, text TEXT NOT NULL, finish_reason TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, latency_s REAL NOT NULL,
    created REAL NOT NULL, error TEXT,  -- error is NULL when the teacher answered
    PRIMARY KEY (teacher, prompt_id, prompt_hash, sample_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS teachers (
    fingerprint TEXT PRIMARY KEY, name TEXT NOT NULL, details TEXT NOT NULL,
    created REAL NOT NULL
);
PRAGMA user_version = {version};
COMMIT;
"""

_COLUMNS = (
    "teacher, prompt_id, prompt_hash, sample_key, text, finish_reason, prompt_tokens, "
    "completion_tokens, latency_s, created, error"
)
# A failure never replaces an answer; anything else replaces what was there.
_UPSERT = f"""
INSERT INTO answers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (teacher, prompt_id, prompt_hash, sample_key) DO UPDATE SET
    text = excluded.text, finish_reason = excluded.finish_reason,
    prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
    latency_s = excluded.latency_s, created = excluded.created, error = excluded.error
WHERE answers.error IS NOT NULL OR excluded.error IS NULL
"""
_KEY = "teacher = ? AND prompt_id = ? AND prompt_hash = ?"
TRUNCATED_REASON = "length"  # OpenAI, vLLM and our transformers backend all say this
_IS_TRUNCATED = f"(error IS NULL AND finish_reason = '{TRUNCATED_REASON}')"
_WHO = "(? IS NULL OR a.teacher = ? OR t.name = ?)"  # a fingerprint or a teacher name


@dataclass(frozen=True)
class StoredRow:
    """One stored answer (or failure) exactly as the database holds it."""

    teacher: str
    prompt_id: str
    prompt_hash: str
    sample_key: str
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    created: float
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def truncated(self) -> bool:
        return self.error is None and self.finish_reason == TRUNCATED_REASON


Row = tuple[str, str, str, str, GenerationResult]


class KnowledgeStore:
    """Durable, content-addressed teacher answers; safe to share between threads."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise CotpdError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
            self._db.execute("PRAGMA synchronous = NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CotpdError(
                    f"{self.path}: knowledge store schema version {version} is newer than this "
                    f"cotpd understands ({SCHEMA_VERSION}); upgrade cotpd"
                )
            if version < SCHEMA_VERSION:
                self._db.executescript(_SCHEMA.format(version=SCHEMA_VERSION))
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.OperationalError):  # the disk or folder, not the file
                raise CotpdError(f"{self.path}: could not open the knowledge store for "
                                 f"writing ({exc}); free space or allow writing there") from exc
            if isinstance(exc, sqlite3.DatabaseError):
                raise CotpdError(f"{self.path}: not a usable knowledge store ({exc})") from exc
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register_teacher(self, fingerprint: str, name: str, details: dict[str, Any]) -> None:
        """Remember who a fingerprint is; the first name given for it stays."""
        blob = json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)
        with self._lock:
            self._db.execute(
                "INSERT INTO teachers (fingerprint, name, details, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (fingerprint) DO NOTHING",
                (fingerprint, name, blob, time.time()),
            )

    def put(
        self,
        teacher: str,
        prompt_id: str,
        prompt_hash: str,
        sample_key: str,
        result: GenerationResult,
    ) -> None:
        """Store one result and commit at once, so it survives a kill a moment later."""
        params = _params((teacher, prompt_id, prompt_hash, sample_key, result))
        with self._lock, self._writing():  # autocommit: its own committed transaction
            self._db.execute(_UPSERT, params)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A write that the disk or the folder refuses (full, read-only, a file size limit)
        is one error naming the store; every answer committed before it stays."""
        try:
            yield
        except sqlite3.OperationalError as error:
            raise CotpdError(f"{self.path}: could not write the knowledge store ({error}); "
                             "free space or allow writing there, then run again: the answers "
                             "stored before are kept") from error

    def put_many(self, rows: list[Row]) -> None:
        """Store many results in one transaction (bulk import); same rules as `put`."""
        with self._lock, self._writing():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(_UPSERT, map(_params, rows))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def answered_keys(self, teacher: str, prompt_id: str, prompt_hash: str) -> set[str]:
        """Sample keys with an answer, whole or truncated: what a resumed run can skip."""
        return self._keys(teacher, prompt_id, prompt_hash, "error IS NULL")

    def truncated_keys(self, teacher: str, prompt_id: str, prompt_hash: str) -> set[str]:
        """Sample keys whose answer was cut off at the token limit."""
        return self._keys(teacher, prompt_id, prompt_hash, _IS_TRUNCATED)

    def failed_keys(self, teacher: str, prompt_id: str, prompt_hash: str) -> set[str]:
        """Sample keys whose latest attempt failed (and never succeeded)."""
        return self._keys(teacher, prompt_id, prompt_hash, "error IS NOT NULL")

    def _keys(self, teacher: str, prompt_id: str, prompt_hash: str, cond: str) -> set[str]:
        sql = f"SELECT sample_key FROM answers WHERE {_KEY} AND {cond}"
        with self._lock:
            return {k for (k,) in self._db.execute(sql, (teacher, prompt_id, prompt_hash))}

    def get(
        self, teacher: str, prompt_id: str, prompt_hash: str, sample_key: str
    ) -> StoredRow | None:
        """The stored row for one key, or None."""
        sql = f"SELECT {_COLUMNS} FROM answers WHERE {_KEY} AND sample_key = ?"
        with self._lock:
            row = self._db.execute(sql, (teacher, prompt_id, prompt_hash, sample_key)).fetchone()
        return StoredRow(*row) if row else None

    def texts(self, teacher: str, prompt_id: str, prompt_hash: str,
              truncated: bool = True) -> dict[str, str]:
        """Sample key -> answer text; `truncated=False` leaves cut-off answers out."""
        keep = "error IS NULL" if truncated else f"error IS NULL AND NOT {_IS_TRUNCATED}"
        sql = f"SELECT sample_key, text FROM answers WHERE {_KEY} AND {keep}"
        with self._lock:
            return dict(self._db.execute(sql, (teacher, prompt_id, prompt_hash)).fetchall())

    def failure_reasons(self, teacher: str, prompt_id: str, prompt_hash: str) -> dict[str, int]:
        """How many stored failures of one prompt version have each reason (the error's
        text before its first colon: `timeout after 5 retries`, `context_length`, ...)."""
        sql = f"SELECT error FROM answers WHERE {_KEY} AND error IS NOT NULL"
        with self._lock:
            errors = [e for (e,) in self._db.execute(sql, (teacher, prompt_id, prompt_hash))]
        return dict(Counter(error.split(":", 1)[0].strip() for error in errors).most_common())

    def summary(self, teacher: str | None = None) -> list[dict[str, Any]]:
        """Counts (answered whole, truncated, failed) and cost per teacher and prompt
        version; `teacher` is a fingerprint or name."""
        sql = f"""
            SELECT t.name AS teacher_name, a.teacher, a.prompt_id, a.prompt_hash,
                SUM(a.error IS NULL AND a.finish_reason IS NOT '{TRUNCATED_REASON}')
                    AS answered,
                SUM(a.error IS NULL AND a.finish_reason IS '{TRUNCATED_REASON}') AS truncated,
                SUM(a.error IS NOT NULL) AS failed,
                COALESCE(SUM(a.prompt_tokens), 0) AS prompt_tokens,
                COALESCE(SUM(a.completion_tokens), 0) AS completion_tokens,
                AVG(CASE WHEN a.error IS NULL THEN a.latency_s END) AS mean_latency_s
            FROM answers a LEFT JOIN teachers t ON t.fingerprint = a.teacher
            WHERE {_WHO}
            GROUP BY t.name, a.teacher, a.prompt_id, a.prompt_hash
            ORDER BY t.name, a.teacher, a.prompt_id, a.prompt_hash"""
        with self._lock:
            return list(_dicts(self._db.execute(sql, (teacher, teacher, teacher))))

    def teachers(self) -> list[dict[str, Any]]:
        """Every registered teacher with its details, oldest first."""
        with self._lock:
            rows = list(_dicts(self._db.execute("SELECT * FROM teachers ORDER BY created, name")))
        return [row | {"details": json.loads(row["details"])} for row in rows]

    def export_jsonl(self, path: str | Path, teacher: str | None = None) -> int:
        """Write every row (plus `teacher_name`) as JSON lines, atomically; return the count."""
        sql = f"""
            SELECT a.*, t.name AS teacher_name
            FROM answers a LEFT JOIN teachers t ON t.fingerprint = a.teacher
            WHERE {_WHO} ORDER BY a.teacher, a.prompt_id, a.prompt_hash, a.sample_key"""
        count = 0
        with atomic_writer(path, "w") as out, self._lock:
            for record in _dicts(self._db.execute(sql, (teacher, teacher, teacher))):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        return count


def _dicts(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return (dict(zip(names, row, strict=True)) for row in cursor)


def _params(row: Row) -> tuple[Any, ...]:
    """The row's values in column order, stamped with the time it was stored."""
    teacher, prompt_id, prompt_hash, sample_key, r = row
    tokens = (r.prompt_tokens, r.completion_tokens, float(r.latency_s), time.time(), r.error)
    return (teacher, prompt_id, prompt_hash, sample_key, r.text or "", r.finish_reason, *tokens)
