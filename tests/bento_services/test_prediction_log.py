"""The JSONL prediction log: what is written is what drift monitoring reads back."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime, timedelta

import numpy as np

from bento_services.prediction_log import JsonlPredictionSink, PredictionRecord, read_predictions, rewrite_predictions


def record(i: int, **overrides) -> PredictionRecord:
    values = dict(
        transaction_id=f"t{i}", customer_id=f"c{i}", merchant_id="m0001", variant="a", model_version="v1",
        score=np.float32(0.25), latency_ms=1.5, features={"amount_aed": 10.0 * i, "channel": "pos"},
    )
    return PredictionRecord(**{**values, **overrides})


def test_written_records_read_back_as_one_row_per_item_with_feature_columns(tmp_path) -> None:
    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(1), record(2)])
    sink.close()
    frame = read_predictions(tmp_path)
    assert list(frame["transaction_id"]) == ["t1", "t2"]
    assert list(frame["amount_aed"]) == [10.0, 20.0]
    assert frame["score"].iloc[0] == 0.25


def test_shadow_predictions_are_left_out_unless_asked_for(tmp_path) -> None:
    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(1), record(2, shadow=True, variant="s")])
    sink.close()
    assert len(read_predictions(tmp_path)) == 1
    assert len(read_predictions(tmp_path, include_shadow=True)) == 2


def test_since_keeps_only_newer_predictions(tmp_path) -> None:
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(1, ts=old), record(2)])
    sink.close()
    frame = read_predictions(tmp_path, since=datetime.now(UTC) - timedelta(hours=1))
    assert list(frame["transaction_id"]) == ["t2"]


def test_a_torn_last_line_is_skipped_and_the_rest_is_kept(tmp_path) -> None:
    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(1)])
    sink.close()
    log = next(tmp_path.glob("predictions-*.jsonl"))
    log.write_text(log.read_text() + '{"transaction_id": "t2", "sco')
    assert list(read_predictions(tmp_path)["transaction_id"]) == ["t1"]


def test_a_write_to_a_full_disk_raises_and_leaves_no_record_now_or_later(tmp_path) -> None:
    """``/dev/full`` answers every write with ENOSPC: a real full disk, for the day's file only."""
    import errno
    import os

    import pytest

    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(1)])
    day_file = next(tmp_path.glob("predictions-*.jsonl"))
    assert os.stat(day_file).st_mode & 0o777 == 0o600  # records name customers: the owner only
    sink.close()
    kept = day_file.read_bytes()
    day_file.unlink()
    day_file.symlink_to("/dev/full")
    with pytest.raises(OSError) as full:
        sink.write([record(2), record(3)])
    assert full.value.errno == errno.ENOSPC

    day_file.unlink()  # space returns: the file is writable again
    day_file.write_bytes(kept)
    sink.write([record(4)])
    sink.close()
    assert list(read_predictions(tmp_path)["transaction_id"]) == ["t1", "t4"]


def test_probe_raises_while_the_folder_cannot_take_a_write(tmp_path) -> None:
    import subprocess

    import pytest

    sink = JsonlPredictionSink(tmp_path)
    sink.probe()
    subprocess.run(["chattr", "+i", str(tmp_path)], check=True)  # root ignores modes, not immutability
    try:
        with pytest.raises(OSError):
            sink.probe()
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path)], check=True)
    sink.probe()
    assert not list(tmp_path.iterdir())  # the probe leaves nothing behind


# ---- rewriting the log: erasure and retention ----------------------------------------------------

def test_a_rewrite_removes_exactly_the_selected_records_and_leaves_other_files_untouched(tmp_path) -> None:
    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(i, customer_id="p-erased" if i % 3 == 0 else f"p-{i}") for i in range(30)])
    sink.close()
    untouched = tmp_path / "predictions-20240101-1.jsonl"
    untouched.write_text(record(99).to_json() + "\n")
    before = untouched.stat().st_mtime_ns
    [rewritten] = rewrite_predictions(tmp_path, lambda r: r["customer_id"] == "p-erased")
    assert (rewritten.removed, rewritten.kept) == (10, 20)
    frame = read_predictions(tmp_path)
    assert "p-erased" not in set(frame["customer_id"]) and len(frame) == 21
    assert untouched.stat().st_mtime_ns == before
    assert stat.S_IMODE(rewritten.path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.rewrite"))


def test_a_file_left_with_nothing_is_removed(tmp_path) -> None:
    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(i, customer_id="p-erased") for i in range(3)])
    sink.close()
    [rewritten] = rewrite_predictions(tmp_path, lambda r: r["customer_id"] == "p-erased")
    assert rewritten.kept == 0 and not rewritten.path.exists()


def test_a_torn_line_goes_with_a_rewrite_since_it_may_hold_an_id(tmp_path) -> None:
    path = tmp_path / "predictions-20240101-1.jsonl"
    path.write_text(record(1, customer_id="p-erased").to_json() + "\n" + record(2).to_json() + '\n{"customer_id": "p-era')
    [rewritten] = rewrite_predictions(tmp_path, lambda r: r["customer_id"] == "p-erased")
    assert (rewritten.removed, rewritten.kept) == (2, 1)
    assert "p-era" not in path.read_text()


def test_a_server_writing_during_a_rewrite_loses_no_record_and_the_erased_customer_is_gone(tmp_path) -> None:
    """The writer appends batches non-stop while files are rewritten under it: every batch it wrote is in the
    log afterwards (none went to a replaced file), and none of the erased customer's records is."""
    sink = JsonlPredictionSink(tmp_path)
    sink.write([record(i, customer_id="p-erased") for i in range(50)])
    written = []
    stop = threading.Event()

    def serve() -> None:
        batch = 0
        while not stop.is_set():
            sink.write([record(batch * 10 + j, customer_id=f"p-{batch}") for j in range(10)])
            written.append(batch)
            batch += 1

    writer = threading.Thread(target=serve)
    writer.start()
    try:
        removed = 0
        for _ in range(20):
            removed += sum(f.removed for f in rewrite_predictions(tmp_path, lambda r: r["customer_id"] == "p-erased"))
            sink.write([record(0, customer_id="p-erased")])  # the customer keeps coming back until the end
    finally:
        stop.set()
        writer.join(30)
    removed += sum(f.removed for f in rewrite_predictions(tmp_path, lambda r: r["customer_id"] == "p-erased"))
    sink.close()
    frame = read_predictions(tmp_path)
    assert removed == 70 and "p-erased" not in set(frame["customer_id"])
    assert len(written) > 20 and len(frame) == 10 * len(written)
