"""Safe by construction, checked on the source tree itself (so new code is held to it):
pickles only as tensors, no remote code unless configured, no code, shell or SQL built from
data, YAML read safely, weights written as safetensors."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from cotpd.pipeline.config import RunConfig
from harness import REPO

PACKAGES = ("cotpd", "corpus", "caption", "teacher", "augment", "student", "eval", "pipeline",
            "benchmarks", "scripts")
SQL_METHODS = {"execute", "executemany", "executescript"}
SAFE_IN_SQL = {"int"}  # calls allowed inside an f-string SQL text


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def field_default(node: ast.expr) -> ast.expr | None:
    """The default a field declares: `= False`, or `= Field(False, ...)` /
    `Field(default=False, ...)`; None for a Field without one."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Field":
        return node.args[0] if node.args else keyword(node, "default")
    return node


@pytest.fixture(scope="module")
def trees() -> dict[str, ast.AST]:
    return {str(p.relative_to(REPO)): ast.parse(p.read_text(encoding="utf-8")) for p in sources()}


def test_the_scan_sees_the_whole_tree(trees: dict[str, ast.AST]) -> None:
    assert len(trees) > 60 and "teacher/store.py" in trees and "student/train.py" in trees
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages <= set(PACKAGES), packages - set(PACKAGES)  # every package of the project


def find_unsafe_loads(trees: dict[str, ast.AST]) -> list[str]:
    found = []
    for name, tree in trees.items():
        for call in calls(tree):
            target = dotted(call.func)
            if target == "torch.load" and not is_true(keyword(call, "weights_only")):
                found.append(f"{name}:{call.lineno}: torch.load without weights_only=True")
            if target in ("pickle.load", "pickle.loads", "marshal.loads", "dill.load",
                          "joblib.load") or target in ("np.load", "numpy.load") and is_true(
                    keyword(call, "allow_pickle")):
                found.append(f"{name}:{call.lineno}: {target}")
            if target == "torch.save":
                found.append(f"{name}:{call.lineno}: torch.save (weights go to safetensors)")
    return found


def find_remote_code(trees: dict[str, ast.AST]) -> list[str]:
    found = []
    for name, tree in trees.items():
        for call in calls(tree):
            if is_true(keyword(call, "trust_remote_code")):
                found.append(f"{name}:{call.lineno}: trust_remote_code=True")
        for node in ast.walk(tree):  # defaults: `= False` or `= Field(False, ...)` only
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                    node.target.id == "trust_remote_code" and node.value is not None and \
                    not is_false(field_default(node.value)):
                found.append(f"{name}:{node.lineno}: a default other than False")
            if isinstance(node, ast.arguments):
                named = node.posonlyargs + node.args + node.kwonlyargs
                defaults = [None] * (len(node.posonlyargs + node.args) - len(node.defaults)) \
                    + list(node.defaults) + list(node.kw_defaults)
                for arg, default in zip(named, defaults, strict=True):
                    if arg.arg == "trust_remote_code" and default is not None and \
                            not is_false(default):
                        found.append(f"{name}:{node.args[0].lineno if node.args else 0}: "
                                     "a parameter default other than False")
    return found


def test_remote_code_is_off_unless_the_config_turns_it_on(trees) -> None:
    assert find_remote_code(trees) == []
    config = RunConfig.model_validate({"data": {"dataset": "demo_mner"}, "teacher": {},
                                       "student": {}})
    assert config.teacher.trust_remote_code is False
    assert config.student.trust_remote_code is False


def find_hub_loads(trees: dict[str, ast.AST]) -> list[str]:
    """`from_pretrained` calls that could reach the Hub: every one says local_files_only=True
    itself (the offline switches are a second guard, not the only one)."""
    return [f"{name}:{call.lineno}: {dotted(call.func)} without local_files_only=True"
            for name, tree in trees.items() for call in calls(tree)
            if isinstance(call.func, ast.Attribute) and call.func.attr == "from_pretrained"
            and not is_true(keyword(call, "local_files_only"))]


def test_every_from_pretrained_stays_local(trees: dict[str, ast.AST]) -> None:
    assert find_hub_loads(trees) == []


def find_code_from_data(trees: dict[str, ast.AST]) -> list[str]:
    found = []
    for name, tree in trees.items():
        for call in calls(tree):
            target = dotted(call.func)
            if target in ("eval", "exec", "os.system", "os.popen", "compile", "__import__"):
                found.append(f"{name}:{call.lineno}: {target}")
            if target.startswith("subprocess.") and is_true(keyword(call, "shell")):
                found.append(f"{name}:{call.lineno}: {target}(shell=True)")
            if target == "yaml.load" and "Safe" not in ast.unparse(keyword(call, "Loader")
                                                                   or ast.Constant(None)):
                found.append(f"{name}:{call.lineno}: yaml.load without a safe loader")
    return found


def find_built_sql(trees: dict[str, ast.AST]) -> list[str]:
    found = []
    for name, tree in trees.items():
        for call in calls(tree):
            if not (isinstance(call.func, ast.Attribute) and call.func.attr in SQL_METHODS
                    and call.args):
                continue
            sql = call.args[0]
            if isinstance(sql, ast.Call) and dotted(sql.func).endswith(".format"):
                sql = sql.func.value  # _SCHEMA.format(version=SCHEMA_VERSION)
                if not all(isinstance(k.value, ast.Name) and k.value.id.isupper()
                           for k in call.args[0].keywords):
                    found.append(f"{name}:{call.lineno}: .format of non-constant values")
            if isinstance(sql, ast.JoinedStr):
                for part in sql.values:
                    if isinstance(part, ast.FormattedValue) and not _plain(part.value):
                        found.append(f"{name}:{call.lineno}: {ast.unparse(part.value)} in SQL")
            elif not isinstance(sql, ast.Constant | ast.Name):
                found.append(f"{name}:{call.lineno}: SQL text {ast.unparse(sql)}")
    return found


def _plain(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return True
    return isinstance(node, ast.Call) and dotted(node.func) in SAFE_IN_SQL


PLANTED = """
import pickle, subprocess, torch, yaml
torch.load(path)
torch.load(path, weights_only=False)
pickle.loads(blob)
torch.save(model.state_dict(), path)
AutoModel.from_pretrained(path, trust_remote_code=True)
def build(trust_remote_code: bool = True): ...
class Settings:
    trust_remote_code: bool = Field(True, description="on")
class Allowed:
    trust_remote_code: bool = Field(False, description="off")
eval(text)
subprocess.run(command, shell=True)
yaml.load(text)
db.execute(f"SELECT * FROM t WHERE k = '{row.key}'")
db.execute("SELECT * FROM t WHERE k = '%s'" % key)
"""


def test_the_scan_finds_what_it_forbids() -> None:
    planted = {"planted.py": ast.parse(PLANTED)}
    assert len(find_unsafe_loads(planted)) == 4
    assert len(find_remote_code(planted)) == 3
    assert len(find_code_from_data(planted)) == 3
    assert len(find_built_sql(planted)) == 2


@pytest.mark.parametrize("finder", [find_unsafe_loads, find_remote_code, find_code_from_data,
                                    find_built_sql])
def test_the_source_tree_is_clean(finder, trees: dict[str, ast.AST]) -> None:
    """torch.load only with weights_only=True and no other unpickling; remote code never
    forced on; no eval/exec/shell/unsafe YAML; SQL text never built from values (every value
    goes through `?` parameters: the behaviour is tested in test_llm_text_is_data)."""
    assert finder(trees) == []
