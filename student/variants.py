"""Student variants by name (`student.variant`): what each trains on and distils into.

A variant is data, a `VariantSpec`, added to `VARIANTS` under its name. One defined outside
this repository is found through the entry-point group `cotpd.student_variants` (the entry
point names a `VariantSpec` object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cotpd.corpus.plugins import Registry

View = Literal["text", "caption", "knowledge", "prompt"]
PromptKind = Literal["none", "conditional", "unconditional", "prefix"]
GROUP = "cotpd.student_variants"


@dataclass(frozen=True)
class VariantSpec:
    train_view: View  # trained with gold-label NLL
    distill_view: View | None  # distilled into with KL; None: no KL in the same model
    prompt_kind: PromptKind  # the prompt generator, if any
    infer_view: View  # what predictions read unless student.infer_view says otherwise
    # Learns from a trained knowledge-view model's cached distributions, not a view of its own.
    two_stage: bool = False


VARIANTS: Registry[VariantSpec] = Registry("student variant", GROUP, base=VariantSpec)

# The paper's variants (docs/architecture.md), with its letters.
VARIANTS.add("text", VariantSpec("text", None, "none", "text"))  # (a) text only
VARIANTS.add("caption", VariantSpec("caption", None, "none", "caption"))  # (b) baseline [x; I]
VARIANTS.add("cot", VariantSpec("knowledge", None, "none", "knowledge"))  # (c) +CoT [x; I; c]
# (e) +MV, KL to the plain text view
VARIANTS.add("mv", VariantSpec("knowledge", "text", "none", "text"))
# (f) +UPD, p = q
VARIANTS.add("upd", VariantSpec("knowledge", "prompt", "unconditional", "prompt"))
# +PrefixD, every layer
VARIANTS.add("prefix", VariantSpec("knowledge", "prompt", "prefix", "prompt"))
# (d) +CPD, the method
VARIANTS.add("cpd", VariantSpec("knowledge", "prompt", "conditional", "prompt"))
# Two-stage: a trained knowledge-view model scored every training sentence once; the student
# learns from the text alone, NLL + KL to those cached distributions.
VARIANTS.add("two_stage", VariantSpec("text", None, "none", "text", two_stage=True))
VARIANTS.add("two_stage_prompt",
             VariantSpec("prompt", None, "conditional", "prompt", two_stage=True))

