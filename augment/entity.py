"""Entity augmentation: replace gold entities with other names of the same type, then keep
a copy only if the teacher answers yes to the factual-check prompt.

Names come from the training split (in-domain) or from lists the teacher writes per type
(zero-shot, rounds of the entity_list prompt until the configured size, deduplicated and
with every training name removed). Copy j of a sample replaces one entity (or all, with
`entity_replace: all`) with a name not yet used for that sample, drawn with a seeded RNG."""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

from cotpd.augment.ask import ask
from cotpd.augment.config import AugmentConfig
from cotpd.augment.counts import TypeCounts
from cotpd.augment.pools import TYPE_WORDS, Name, name_key, parse_name_list, training_names
from cotpd.augment.rewrite import augmented_id, text_of
from cotpd.augment.tasks import augment_task_of
from cotpd.augment.variants import copy_prompt
from cotpd.augment.yesno import parse_yes_no
from cotpd.corpus.records import Sample
from cotpd.teacher.catalogue import CatalogPrompt
from cotpd.teacher.runner import Teacher
from cotpd.teacher.store import KnowledgeStore


def zero_shot_names(types: Sequence[str], size: int, prompt: CatalogPrompt,
                    training: dict[str, list[Name]], teacher: Teacher,
                    store: KnowledgeStore) -> tuple[dict[str, list[Name]], dict[str, Any]]:
    """About `size` names over `types`, none of them a training name; with its counts."""
    per_type = math.ceil(size / max(len(types), 1))
    train_keys = {name_key(n) for names in training.values() for n in names}
    seen: set[str] = set()
    pools: dict[str, list[Name]] = {t: [] for t in types}
    refused: Counter[str] = Counter()
    rounds = max(len(prompt.completion.get("examples", [])), 1)
    asked = 0
    for round_ in range(rounds):
        short = [t for t in types if len(pools[t]) < per_type]
        if not short:
            break
        variant = copy_prompt(prompt, round_)
        answers, counts = ask(variant, {f"entity_list/{t}": {"entity_type": TYPE_WORDS.get(t, t)}
                                        for t in short}, teacher, store)
        asked += counts.asked + counts.skipped
        for kind in short:
            names = parse_name_list(answers.get(f"entity_list/{kind}", ""), train_keys, seen,
                                    refused)
            room = per_type - len(pools[kind])
            pools[kind].extend(names[:room])
            refused["over_size"] += max(len(names) - room, 0)
    report = {"requested": size, "per_type": per_type, "prompts": asked,
              "names": {t: len(v) for t, v in pools.items()}, "refused": dict(refused)}
    return pools, report


def candidates(sources: Sequence[Sample], times: int, pools: dict[str, list[Name]],
               config: AugmentConfig, counts: TypeCounts) -> list[Sample]:
    """Every replaced copy before the factual check; copies that cannot be made are counted."""
    made: list[Sample] = []
    for source in sources:
        rng = random.Random(f"{config.seed}:{source.id}")
        task = augment_task_of(source)
        entities = task.entities(source)  # BIO spans, or the typed MRE head/tail roles
        used: set[str] = set()
        for copy in range(times):
            counts.asked += 1
            if not entities:
                counts.drop("no_entity")
                continue
            chosen = entities if config.entity_replace == "all" else \
                [entities[(copy + rng.randrange(len(entities))) % len(entities)]]
            picks = []
            for target, kind, words in chosen:
                current = name_key(words)
                options = [n for n in pools.get(kind, []) if name_key(n) != current
                           and name_key(n) not in used]
                if options:
                    picks.append((target, rng.choice(options)))
            if len(picks) < len(chosen):
                counts.drop("no_candidate")
                continue
            used.update(name_key(name) for _, name in picks)
            made.append(task.replace(source, picks, augmented_id(source, "entity", copy)))
    return made


def check_key(sample: Sample) -> str:
    """The store key of a factual check: the copy's id and a hash of its text, so a changed
    replacement is asked again."""
    digest = hashlib.sha256(text_of(sample).encode("utf-8")).hexdigest()[:10]
    return f"{sample.id}:{digest}"


def factual_filter(made: Sequence[Sample], prompt: CatalogPrompt, teacher: Teacher,
                   store: KnowledgeStore, counts: TypeCounts) -> list[Sample]:
    """The copies the teacher calls possible in fact; no, unparsed and failed are dropped."""
    answers, asked = ask(prompt, {check_key(s): {"text": text_of(s)} for s in made},
                         teacher, store)
    counts.teacher[prompt.id] = asked
    kept = []
    for sample in made:
        answer = answers.get(check_key(sample))
        verdict = parse_yes_no(answer)
        if answer is None:
            counts.drop("teacher_failed")
            continue
        counts.answers["yes" if verdict else "no" if verdict is False else "unparsed"] += 1
        if verdict is None:
            counts.drop("factual_unparsed")
        elif not verdict:
            counts.drop("factual_no")
        else:
            kept.append(sample)
    return kept


def entity_copies(train: Sequence[Sample], sources: Sequence[Sample], config: AugmentConfig,
                  catalogue: dict[str, CatalogPrompt], teacher: Teacher, store: KnowledgeStore,
                  counts: TypeCounts) -> tuple[list[Sample], dict[str, Any]]:
    training = training_names(train)
    report: dict[str, Any] = {"source": config.entity_source,
                              "training_names": {t: len(v) for t, v in training.items()}}
    pools = training
    if config.entity_source == "zero_shot":
        pools, report["zero_shot"] = zero_shot_names(
            sorted(training), config.zero_shot_list_size, catalogue["entity_list"], training,
            teacher, store)
    made = candidates(sources, config.times.entity, pools, config, counts)
    kept = factual_filter(made, catalogue["entity_check"], teacher, store, counts) \
        if config.factual_check and made else made
    counts.kept += len(kept)
    return kept, report
