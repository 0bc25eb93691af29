#!/usr/bin/env python3
"""Fine-tune a sentence-transformers model on one clickstream fine-tuning task.

Run by `clickstream worker --exec` (settings from the CLICKSTREAM_* variables) or by hand with flags.
Reads a sentence-transformers JSON Lines file ({"anchor", "positive"} or with "negative" too), splits it
into train and test, measures recall@10 on test, trains with MultipleNegativesRankingLoss, measures
again, saves the model and writes the result file the worker completes the task with.

Split: by row. A random --test-fraction of the lines (each one click: query as anchor, clicked document
as positive) is held out, so a pair clicked many times usually lands on both sides: the test measures how
well the model ranks held-out clicks of known queries, the clicks a deployment sees again. (Splitting by
distinct pair would leave every test document unseen in training, which only a pretrained model can rank;
the local model does not learn a document seen only in test: its word embedding stays random.)

Model: --base-model fine-tunes that pretrained model (the real use). Without it a small model is built
offline: random word embeddings over the file's vocabulary, mean-pooled; only for trying the pipeline.

Exit status: 0 done; 2 bad arguments or training data (retrying will not help); 1 any other failure.
Errors go to stderr as one line starting with "train-sentence-transformers: error:".
"""
import argparse
import json
import os
import random
import string
import sys
import tempfile
import time
import traceback
from pathlib import Path

PROG = "train-sentence-transformers"
COLUMNS = ("anchor", "positive", "negative")


class DataError(Exception):
    """Training data or settings this trainer refuses; the message says why."""


def parse_args(argv):
    """Flags, with the CLICKSTREAM_* variables the worker sets as defaults."""
    env = os.environ
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=env.get("CLICKSTREAM_TRAINING_DATA"),
                   help="training data, sentence-transformers JSON Lines (default: $CLICKSTREAM_TRAINING_DATA)")
    p.add_argument("--result", default=env.get("CLICKSTREAM_RESULT_FILE"),
                   help="where to write the result JSON (default: $CLICKSTREAM_RESULT_FILE)")
    p.add_argument("--task-id", default=env.get("CLICKSTREAM_TASK_ID") or None, help="the task id (default: $CLICKSTREAM_TASK_ID)")
    p.add_argument("--output-dir", help="where to save the model (default: ./models/<task id or 'manual'>)")
    p.add_argument("--base-model", help="pretrained model name or path to fine-tune (default: a small local model)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of rows held out (default 0.2)")
    p.add_argument("--seed", type=int, default=42, help="seed of the split, the embeddings and training (default 42)")
    p.add_argument("--epochs", type=float, help="default 1 with --base-model, else 3")
    p.add_argument("--batch-size", type=int, default=32, help="default 32")
    p.add_argument("--learning-rate", type=float, help="default 2e-5 with --base-model, else 2e-2")
    p.add_argument("--dim", type=int, default=64, help="embedding size of the local model (default 64)")
    args = p.parse_args(argv)
    if not args.data or not args.result:
        p.error("--data and --result are required (or CLICKSTREAM_TRAINING_DATA and CLICKSTREAM_RESULT_FILE)")
    if not 0 < args.test_fraction < 1:
        p.error("--test-fraction must be between 0 and 1")
    args.epochs = (1 if args.base_model else 3) if args.epochs is None else args.epochs
    args.epochs = int(args.epochs) if float(args.epochs).is_integer() else args.epochs
    args.learning_rate = args.learning_rate or (2e-5 if args.base_model else 2e-2)
    if args.batch_size < 2 or args.dim < 1 or args.epochs <= 0 or args.learning_rate <= 0:
        p.error("--batch-size must be at least 2; --dim, --epochs and --learning-rate positive")
    if not args.output_dir:  # any string can be a task id: keep it one safe path component
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in args.task_id or "manual")
        args.output_dir = os.path.join("models", "_" + name if name.startswith(".") else name)
    return args


def load_rows(path, scratch):
    """The file as a `datasets.Dataset` of anchor, positive and perhaps negative strings (cached in scratch)."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # the DataError below says what went wrong
    if not os.path.isfile(path):
        raise DataError(f"training data {path}: no such file")
    with open(path, "rb") as f:
        if not any(line.strip() for line in f):
            raise DataError(f"training data {path} is empty: nothing to train on")
    try:
        ds = datasets.load_dataset("json", data_files=path, split="train", cache_dir=scratch)
    except Exception as e:  # datasets wraps the parser's error: report that one
        while e.__cause__:
            e = e.__cause__
        raise DataError(f"training data {path} is not JSON Lines of one set of columns: {e}") from e
    missing = [c for c in COLUMNS[:2] if c not in ds.column_names]
    if missing or len(ds) == 0:
        raise DataError(f"training data {path}: needs anchor and positive columns, has {ds.column_names or 'none'}"
                        f" in {len(ds)} rows")
    ds = ds.select_columns([c for c in COLUMNS if c in ds.column_names])
    for c in ds.column_names:
        bad = next((i for i, v in enumerate(ds[c]) if not isinstance(v, str) or not v.strip()), None)
        if bad is not None:
            raise DataError(f"training data {path}: line {bad + 1} has no text in column {c}")
    if len(ds) < 2:
        raise DataError(f"training data {path}: one row, cannot split it into train and test")
    return ds


def split_rows(ds, test_fraction, seed):
    """(train, test) by row, at least one row on each side."""
    order = list(range(len(ds)))
    random.Random(seed).shuffle(order)
    n_test = min(max(1, round(len(ds) * test_fraction)), len(ds) - 1)
    return ds.select(sorted(order[n_test:])), ds.select(sorted(order[:n_test]))


def words(text):
    """The vocabulary entries of a text as WhitespaceTokenizer(do_lower_case=True) will look them up."""
    return [w.strip(string.punctuation) or w for w in text.lower().split()]


def build_local_model(ds, dim, seed):
    """Random (seeded) word embeddings over every word of the file's texts, mean-pooled."""
    import torch
    from sentence_transformers import SentenceTransformer
    try:  # sentence-transformers 6 moved the modules; the old paths warn
        from sentence_transformers.sentence_transformer.modules import Pooling, WordEmbeddings, tokenizer
    except ImportError:
        from sentence_transformers.models import Pooling, WordEmbeddings, tokenizer

    torch.set_num_threads(1)  # its matrices are tiny: more threads only wait on each other
    vocab = sorted({w for c in ds.column_names for text in ds[c] for w in words(text)})
    vocab.insert(0, "[PAD]")  # id 0 pads the batches; mean pooling masks it
    # No stop words: a query of only "the" or "how to" would get no token, hence a zero embedding.
    tok = tokenizer.WhitespaceTokenizer(vocab=vocab, stop_words=[], do_lower_case=True)
    weights = torch.randn(len(vocab), dim, generator=torch.Generator().manual_seed(seed)) * 0.1
    embeddings = WordEmbeddings(tok, weights, update_embeddings=True)
    return SentenceTransformer(modules=[embeddings, Pooling(dim, pooling_mode="mean")], device="cpu")


def recall_at_10(model, ds, test):
    """Mean recall@10 over the distinct test anchors, computed with util.semantic_search (cosine).

    Corpus: every distinct positive of the file; relevant documents of a query: its test positives.
    """
    from sentence_transformers import util

    corpus = sorted(set(ds["positive"]))
    relevant = {}
    for anchor, positive in zip(test["anchor"], test["positive"]):
        relevant.setdefault(anchor, set()).add(positive)
    queries = sorted(relevant)
    encode = dict(convert_to_tensor=True, batch_size=256, show_progress_bar=False)
    hits = util.semantic_search(model.encode(queries, **encode), model.encode(corpus, **encode), top_k=10)
    found = [len({corpus[h["corpus_id"]] for h in top} & relevant[q]) / len(relevant[q])
             for q, top in zip(queries, hits)]
    return sum(found) / len(found)


def train(model, train_ds, args, scratch):
    """Fine-tune with MultipleNegativesRankingLoss on CPU; no checkpoints, no reporting. Returns the loss."""
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers.trainer_callback import PrinterCallback
    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss

    training_args = SentenceTransformerTrainingArguments(
        output_dir=scratch, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate, seed=args.seed, use_cpu=True,
        # in-batch negatives: a repeated anchor or positive in a batch would be a false negative
        batch_sampler="no_duplicates", save_strategy="no", report_to="none", logging_strategy="no",
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=training_args, train_dataset=train_ds,
                                         loss=MultipleNegativesRankingLoss(model))
    trainer.remove_callback(PrinterCallback)  # it prints the final log line; main prints a summary
    return trainer.train().training_loss


def write_json(path, value):
    """Write JSON to path atomically (the worker must never read half a file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(tmp, path)


def run(args, scratch, started):
    """Load, split, evaluate, train, evaluate, save the model; returns the result for the worker."""
    import transformers

    transformers.logging.set_verbosity_error()
    ds = load_rows(args.data, scratch)
    train_ds, test_ds = split_rows(ds, args.test_fraction, args.seed)
    if args.base_model:
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(args.base_model, device="cpu")
    else:
        model = build_local_model(ds, args.dim, args.seed)
    before = recall_at_10(model, ds, test_ds)
    loss = train(model, train_ds, args, os.path.join(scratch, "trainer"))
    after = recall_at_10(model, ds, test_ds)
    out = Path(args.output_dir).resolve()
    model.save(str(out))
    metrics = {"recall_at_10_before": round(before, 4), "recall_at_10_after": round(after, 4),
               "train_pairs": len(train_ds), "test_pairs": len(test_ds), "base_model": args.base_model,
               "epochs": args.epochs, "train_loss": round(loss, 4), "seconds": round(time.monotonic() - started, 1)}
    return {"best_model_url": out.as_uri(), "best_model_id": f"{args.task_id or 'manual'}-st", "metrics": metrics}


def main(argv=None):
    """Train, write the result file, print a summary; returns the exit status."""
    args = parse_args(argv)
    if not args.base_model:  # the local model needs no download: never try one
        os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars would fill the stderr tail the worker reports
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="st-") as scratch:
            result = run(args, scratch, started)
        write_json(args.result, result)
    except DataError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # the traceback for people, then one line for the end of the worker's stderr tail
        traceback.print_exc()
        print(f"{PROG}: error: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        return 1
    m = result["metrics"]
    print(f"{args.base_model or 'local word-embedding model'}: {m['train_pairs']} train / {m['test_pairs']} test "
          f"pairs, epochs {args.epochs:g}, recall@10 {m['recall_at_10_before']:.3f} -> "
          f"{m['recall_at_10_after']:.3f}, {m['seconds']} s; saved to {result['best_model_url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
