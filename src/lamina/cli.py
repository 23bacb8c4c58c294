"""The `lamina` command. `lamina train` (no arguments) is lamina's main job: train the seeds' basic
CNN on the built-in digits, report test accuracy and per-class precision / recall, and write a run
folder (weights, config, history as JSON and CSV, report; with matplotlib, report.html and its
figures as PNGs).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def build_digits_cnn(input_shape=(8, 8, 1), classes=10):
    """The seeds' basic CNN (Conv-BN-Pool blocks, Dropout, Dense, softmax), sized for 8x8 digits."""
    from lamina import layers, models

    return models.Sequential(
        [
            layers.Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=input_shape),
            layers.BatchNormalization(),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(classes, activation="softmax"),
        ],
        name="digits_cnn",
    )


def per_class_report(y_true, y_pred, classes: int) -> list[dict]:
    """Precision, recall and support for each class (0 where a class is never predicted)."""
    from lamina.visualization import confusion_matrix, per_class_scores

    scores = per_class_scores(confusion_matrix(y_true, y_pred, classes))
    keys = ("class", "precision", "recall", "support")
    return [{key: row[key] for key in keys} for row in scores]


def _write_run_folder(out: Path, files: dict[str, bytes]) -> None:
    """Write every file into a temporary folder beside `out`, then rename it into place: a run
    folder is either complete or absent."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, payload in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _history_csv(history: dict) -> bytes:
    keys = list(history)
    lines = []
    with tempfile.TemporaryFile("w+", newline="") as buffer:
        writer = csv.writer(buffer)
        writer.writerow(["epoch", *keys])
        for epoch in range(len(history[keys[0]]) if keys else 0):
            writer.writerow([epoch, *(history[k][epoch] for k in keys)])
        buffer.seek(0)
        lines = buffer.read()
    return lines.encode()


def _html_report_files(model, history, y_test, predictions, x_test, summary) -> dict[str, bytes]:
    """report.html and its figures (history.png, confusion_matrix.png, feature_maps.png), or
    nothing (and a note saying why) without matplotlib."""
    from lamina import visualization
    from lamina.visualization.figures import INSTALL_HINT

    if not visualization.matplotlib_available():
        print(f"No report.html: it needs matplotlib ({INSTALL_HINT}).")
        return {}
    extra = {
        "test accuracy": summary["test_accuracy"],
        "test loss": summary["test_loss"],
        "training time (s)": summary["train_seconds"],
        "epochs": summary["epochs"],
        "batch size": summary["batch_size"],
        "seed": summary["seed"],
    }
    report = visualization.build_report(
        title="lamina train: the basic CNN on the built-in digits",
        history=history,
        model=model,
        y_true=y_test,
        y_pred=predictions,
        images=x_test[:1],
        extra=extra,
    )
    return {"report.html": report.html.encode(), **report.figures}


def train(
    epochs: int = 40,
    batch_size: int = 32,
    seed: int = 0,
    out: str | None = None,
    verbose: int = 1,
    html_report: bool = True,
) -> dict:
    import safetensors.torch

    import lamina

    lamina.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    x_train = (x_train / 16.0)[..., None].astype("float32")
    x_test = (x_test / 16.0)[..., None].astype("float32")

    model = build_digits_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if verbose:
        model.summary()
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_split=0.1,
        verbose=verbose,
    )
    train_seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test, verbose=0).argmax(axis=1)
    report = per_class_report(y_test, predictions, 10)

    print(
        f"\nTest accuracy: {accuracy:.4f}  (loss {loss:.4f}, {len(y_test)} held-out images, "
        f"trained in {train_seconds:.1f} s)"
    )
    print(f"{'class':>5} {'precision':>9} {'recall':>7} {'support':>7}")
    for row in report:
        print(
            f"{row['class']:>5} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['support']:>7}"
        )

    summary = {
        "test_accuracy": accuracy,
        "test_loss": loss,
        "train_seconds": train_seconds,
        "per_class": report,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
    }
    if out is None:
        out = os.path.join("runs", time.strftime("digits-%Y%m%d-%H%M%S"))
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    files = {
        "weights.safetensors": safetensors.torch.save(state),
        "config.json": json.dumps(model.get_config(), indent=2).encode(),
        "history.json": json.dumps(history.history, indent=2).encode(),
        "history.csv": _history_csv(history.history),
        "report.json": json.dumps(summary, indent=2).encode(),
    }
    if html_report:
        files.update(_html_report_files(model, history, y_test, predictions, x_test, summary))
    _write_run_folder(Path(out), files)
    print(f"Run folder: {out}")
    if "report.html" in files:
        print(f"Report: {os.path.join(out, 'report.html')}")
    summary["out"] = str(out)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lamina", description="lamina: Keras's API on PyTorch.")
    commands = parser.add_subparsers(dest="command")
    train_parser = commands.add_parser("train", help="train the basic CNN on the built-in digits")
    train_parser.add_argument("--epochs", type=int, default=40)
    train_parser.add_argument("--batch-size", type=int, default=32)
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--out", default=None, help="run folder (default runs/digits-<time>)")
    train_parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    train_parser.add_argument(
        "--no-report",
        action="store_true",
        help="skip report.html and its PNGs (they take about a second)",
    )
    args = parser.parse_args(argv)
    if args.command in (None, "train"):
        defaults = train_parser.parse_args([]) if args.command is None else args
        train(
            epochs=defaults.epochs,
            batch_size=defaults.batch_size,
            seed=defaults.seed,
            out=defaults.out,
            verbose=defaults.verbose,
            html_report=not defaults.no_report,
        )
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
