"""The plug-in registry (corpus/plugins.py): register by decorator, lazy modules imported only
when chosen, names listed without importing, typos answered with the closest name, entries
checked against their base, and plug-ins installed elsewhere found through entry points."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.plugins import Registry

GROUP = "cotpd.test_widgets"


class Widget(Protocol):
    name: str  # a data member: issubclass() would refuse this protocol

    @classmethod
    def build(cls, size: int) -> Widget: ...

    def spin(self) -> str: ...


class Base:
    """A plain base class, for registries that want subclasses."""


def write_module(folder: Path, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(source, encoding="utf-8")


@pytest.fixture
def on_path(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path; the modules written there are forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith(("test_plugins_", "outside_"))]:
        del sys.modules[name]


WIDGET_MODULE = '''
from test_plugins_widgets import WIDGETS

@WIDGETS.register("{name}")
class {cls}:
    name = "{name}"

    @classmethod
    def build(cls, size):
        return cls()

    def spin(self):
        return "{name} spins"
'''


@pytest.fixture
def widgets(on_path: Path) -> Registry[Any]:
    """A registry living in a module (as a package's registry.py would), one lazy entry."""
    write_module(on_path, "test_plugins_widgets",
                 "from cotpd.corpus.plugins import Registry\n"
                 f"WIDGETS = Registry('widget', {GROUP!r}, lazy={{'gear': 'test_plugins_gear'}})\n")
    write_module(on_path, "test_plugins_gear", WIDGET_MODULE.format(name="gear", cls="Gear"))
    import test_plugins_widgets

    return test_plugins_widgets.WIDGETS


def test_a_decorated_class_is_its_name(widgets: Registry[Any]) -> None:
    @widgets.register("cog")
    class Cog:
        name = "cog"

        @classmethod
        def build(cls, size: int) -> Cog:
            return cls()

        def spin(self) -> str:
            return "cog spins"

    assert widgets.get("cog") is Cog
    assert widgets.names() == ("cog", "gear")
    assert "cog" in widgets and "sprocket" not in widgets


def test_a_lazy_module_is_imported_only_when_chosen(widgets: Registry[Any]) -> None:
    assert widgets.names() == ("gear",)
    assert "test_plugins_gear" not in sys.modules  # listing imports nothing
    gear = widgets.get("gear")
    assert "test_plugins_gear" in sys.modules
    assert gear.build(3).spin() == "gear spins"


def test_a_lazy_module_that_registers_nothing_is_refused(on_path: Path) -> None:
    write_module(on_path, "test_plugins_empty", "X = 1\n")
    empty = Registry("widget", GROUP, lazy={"hollow": "test_plugins_empty"})
    with pytest.raises(CotpdError, match="test_plugins_empty registers no widget 'hollow'"):
        empty.get("hollow")


def test_an_unknown_name_gets_the_closest_and_the_valid_ones(widgets: Registry[Any]) -> None:
    with pytest.raises(CotpdError, match=r"unknown widget 'gaer'; did you mean 'gear'\? "
                                         r"\(valid: gear\)"):
        widgets.get("gaer")
    assert widgets.unknown_message("zzzz") == "unknown widget 'zzzz' (valid: gear)"


def test_a_class_without_the_protocol_methods_is_refused() -> None:
    widgets: Registry[Any] = Registry("widget", GROUP, base=Widget)

    class Half:
        @classmethod
        def build(cls, size: int) -> Half:
            return cls()

    with pytest.raises(TypeError, match=r"widget 'half': .*Half has no spin"):
        widgets.register("half")(Half)
    with pytest.raises(TypeError, match="has no build, spin"):
        widgets.register("none")(type("Nothing", (), {}))
    assert widgets.names() == ()


def test_a_base_class_wants_subclasses_and_instances() -> None:
    classes: Registry[Any] = Registry("thing", GROUP, base=Base)
    classes.register("good")(type("Good", (Base,), {}))
    with pytest.raises(TypeError, match="is no subclass of Base"):
        classes.register("bad")(type("Bad", (), {}))
    values: Registry[Any] = Registry("setting", GROUP, base=Base)
    values.add("one", Base())
    with pytest.raises(TypeError, match="is no Base"):
        values.add("two", "not a Base")


def test_a_name_taken_by_another_entry_is_refused() -> None:
    things: Registry[Any] = Registry("thing", GROUP)
    things.register("a")(type("First", (), {}))
    things.register("a")(type("First", (), {}))  # the same class, defined again: no clash
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        things.register("a")(type("Second", (), {}))
    things.add("n", (1, 2))
    things.add("n", (1, 2))
    with pytest.raises(ValueError, match="registered twice"):
        things.add("n", (3,))


def test_a_copy_keeps_its_own_entries() -> None:
    things: Registry[Any] = Registry("thing", GROUP)
    things.add("a", 1)
    twin = things.copy()
    twin.add("b", 2)
    assert things.names() == ("a",) and twin.names() == ("a", "b")


def test_a_group_outside_the_cotpd_namespace_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with 'cotpd.'"):
        Registry("thing", "widgets")


def test_an_installed_plug_in_is_found_through_its_entry_point(widgets: Registry[Any],
                                                               on_path: Path) -> None:
    """A distribution outside the repository: its dist-info names the plug-in in the group,
    and nothing of it is imported until it is chosen."""
    write_module(on_path, "outside_widgets", WIDGET_MODULE.format(name="flywheel",
                                                                  cls="Flywheel"))
    info = on_path / "outside_widgets-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: outside-widgets\n"
                                   "Version: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[{GROUP}]\nflywheel = outside_widgets:Flywheel\n", encoding="utf-8")
    fresh = widgets.copy()  # entry points are read once per registry: this one reads now
    assert fresh.names() == ("flywheel", "gear")
    assert "outside_widgets" not in sys.modules
    with pytest.raises(CotpdError, match=r"did you mean 'flywheel'\?"):
        fresh.get("flywheel2")
    flywheel = fresh.get("flywheel")
    assert flywheel.__module__ == "outside_widgets" and flywheel.build(1).spin() == (
        "flywheel spins")


def test_an_entry_point_to_an_undecorated_object_registers_it(
        monkeypatch: pytest.MonkeyPatch, on_path: Path) -> None:
    """The entry point's object itself is the entry, checked like any other."""
    from importlib.metadata import EntryPoint

    write_module(on_path, "outside_plain", "class Plain:\n    pass\n")
    points = [EntryPoint("plain", "outside_plain:Plain", GROUP),
              EntryPoint("broken", "outside_plain:Plain", GROUP)]
    monkeypatch.setattr("cotpd.corpus.plugins.entry_points",
                        lambda group: [p for p in points if p.group == group])
    things: Registry[Any] = Registry("thing", GROUP)
    assert things.names() == ("broken", "plain")
    assert things.get("plain").__name__ == "Plain"
    picky: Registry[Any] = Registry("thing", GROUP, base=Base)
    with pytest.raises(TypeError, match="thing 'broken': .*Plain is no subclass of Base"):
        picky.get("broken")


# --- the registries built on it: captioners and student variants --------------------------

REPO = Path(__file__).resolve().parents[2]


def test_validating_a_caption_config_imports_no_captioner() -> None:
    code = ("import sys; from cotpd.caption.config import CaptionConfig; "
            "CaptionConfig(backend='lavis', lavis={k: '/x' for k in "
            "('checkpoint', 'vit_weights', 'llm', 'bert')}); "
            "CaptionConfig(backend='transformers', model='/m'); "
            "print(sorted(m for m in sys.modules if m.startswith(('cotpd.caption.captioners', "
            "'cotpd.caption.lavis_captioner', 'torch', 'transformers', 'PIL'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_captioner_is_refused_naming_the_valid_ones() -> None:
    from cotpd.caption.config import CaptionConfig
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"unknown captioner 'lavs'; did you mean "
                                              r"'lavis'\? \(valid: file, lavis, transformers\); "
                                              r"none: no captions"):
        CaptionConfig(backend="lavs")
    assert CaptionConfig().backend == "none"


def test_a_captioner_registered_elsewhere_is_built(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from cotpd.caption import registry, stage
    from cotpd.caption.config import CaptionConfig

    monkeypatch.setattr(registry, "CAPTIONERS", registry.CAPTIONERS.copy())

    @registry.register_captioner("constant")
    class Constant:
        name, source, params = "constant", None, {}

        def __init__(self, images_dir: Path) -> None:
            self.images_dir = images_dir

        @classmethod
        def from_config(cls, config: CaptionConfig, images_dir: Path) -> Constant:
            return cls(images_dir)

    captioner = stage.build_captioner(CaptionConfig(backend="constant"), tmp_path)
    assert isinstance(captioner, Constant) and captioner.images_dir == tmp_path
    with pytest.raises(TypeError, match="has no from_config"):
        registry.register_captioner("broken")(type("Broken", (), {}))


def test_every_paper_variant_is_registered_and_a_typo_is_refused() -> None:
    from cotpd.student.config import StudentConfig
    from cotpd.student.variants import VARIANTS
    from pydantic import ValidationError

    assert VARIANTS.names() == ("caption", "cot", "cpd", "mv", "prefix", "text", "two_stage",
                                "two_stage_prompt", "upd")
    config = StudentConfig(variant="mv")
    assert (config.train_view, config.distill_view, config.resolved_infer_view) == (
        "knowledge", "text", "text")
    assert StudentConfig(variant="two_stage", distill={"folds": 1}).two_stage
    with pytest.raises(ValidationError, match=r"unknown student variant 'cdp'; did you mean "
                                              r"'cpd'\?"):
        StudentConfig(variant="cdp")


COT_MV = None  # set by the test below: an entry point's object


def test_an_installed_variant_configures_the_student(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    from cotpd.student import config as student_config
    from cotpd.student.variants import GROUP, VariantSpec

    spec = VariantSpec("knowledge", "text", "none", "knowledge")
    monkeypatch.setattr(sys.modules[__name__], "COT_MV", spec)
    point = EntryPoint("cot_mv", f"{__name__}:COT_MV", GROUP)
    monkeypatch.setattr("cotpd.corpus.plugins.entry_points",
                        lambda group: [point] if group == GROUP else [])
    monkeypatch.setattr(student_config, "VARIANTS", student_config.VARIANTS.copy())
    config = student_config.StudentConfig(variant="cot_mv")
    assert config.spec == spec and config.resolved_infer_view == "knowledge"
    assert "KL(knowledge || text)" in config.loss_description()
    with pytest.raises(ValueError, match="unknown student variant"):
        student_config.StudentConfig(variant="cot_mw2")
