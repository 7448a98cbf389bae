"""Whether the configured explanation prompts can be rendered for a dataset's samples: a
prompt that names a value the task's samples lack (MRE's {head} and {tail} on an MNER
dataset) is refused when the config loads, not halfway through teaching."""

from __future__ import annotations

import string

from cotpd.corpus.errors import CotpdError
from cotpd.corpus.registry import get_dataset
from cotpd.corpus.tasks import get_task, task_names
from cotpd.teacher.catalogue import CatalogPrompt, load_catalogue
from cotpd.teacher.config import TeacherConfig

# What every sample gives a prompt (teacher/runner.py sample_values).
COMMON_VALUES = frozenset({"text", "caption", "knowledge"})


def needed_values(prompt: CatalogPrompt) -> set[str]:
    """The placeholders of a prompt's chat and completion templates ({examples} aside)."""
    texts = (prompt.chat, str(prompt.completion.get("template", "")))
    names = {field for text in texts for _, field, _, _ in string.Formatter().parse(text)
             if field}
    return names - {"examples"}


def prompt_problems(config: TeacherConfig, dataset: str) -> list[str]:
    """One line per configured explanation prompt that is unknown or needs values the
    dataset's samples do not have; [] when every prompt fits. A prompt file that cannot be
    read is left to the teach stage, which names it."""
    if config.backend == "import":
        return []
    try:
        catalogue = load_catalogue(config.prompt_files)
    except CotpdError:
        return []
    task = get_task(get_dataset(dataset).task)
    problems = []
    for prompt_id in config.knowledge.prompts:
        prompt = catalogue.get(prompt_id)
        if prompt is None:
            problems.append(f"teacher.knowledge.prompts: unknown prompt {prompt_id!r} (the "
                            f"catalogue has {', '.join(sorted(catalogue))})")
            continue
        missing = sorted(needed_values(prompt) - COMMON_VALUES - set(task.prompt_fields))
        if missing:
            fits = [name for name in task_names()
                    if not set(missing) - set(get_task(name).prompt_fields)]
            where = f"; it is for {'/'.join(fits)} datasets" if fits else ""
            problems.append(
                f"teacher.knowledge.prompts: prompt {prompt_id!r} needs "
                f"{', '.join('{' + m + '}' for m in missing)}, which the samples of "
                f"{dataset} ({task.name}) do not have{where}; remove {prompt_id!r} from "
                f"teacher.knowledge.prompts or choose such a dataset")
    return problems
