"""The profile table: columns, real bytes, accuracy equal to an independent evaluation, caching."""

from __future__ import annotations

import pytest
import torch
from conftest import run_cli

import sc2sim.profiling.ensure as ensure_mod
from sc2sim.models import load_bundled
from sc2sim.pipelines import build_pipeline
from sc2sim.profiling import ensure_profile, read_profile, summarize_profile
from sc2sim.profiling.flops import model_flops
from sc2sim.profiling.measure import COLUMNS, COUNT_COLUMNS
from sc2sim.profiling.timing import Protocol
from sc2sim.train.common import predict, to_tensors

N = 150
NAMES = ["local:teacher", "local:light", "offload:png", "offload:webp?quality=50"]


@pytest.fixture(scope="module")
def table():
    return ensure_profile(NAMES, N, repeats=1, progress=False)


def test_columns_rows_and_metadata(table):
    assert list(table.columns) == COLUMNS + COUNT_COLUMNS
    assert len(table) == N * len(NAMES)
    assert table.groupby("pipeline").size().to_dict() == {n: N for n in NAMES}
    meta = table.attrs["sc2sim"]
    assert meta["threads"] == 1 and meta["repeats"] == 1 and meta["samples"] == N and meta["host"]
    assert meta["load_before"]["cores"] >= 1 and set(meta["timing"]) == set(NAMES)
    assert all(t["clock"] == Protocol().clock_name and t["rounds"] >= 1 for t in meta["timing"].values())
    assert (table["mobile_ms"] >= table["mobile_encode_ms"]).all() and (table["edge_ms"] >= table["edge_decode_ms"]).all()


def test_accuracy_equals_independent_evaluation(table, fmnist_test):
    x, y = to_tensors(fmnist_test.head(N))
    for name in ("teacher", "light"):
        preds = predict(load_bundled(name), x)
        rows = table[table.pipeline == f"local:{name}"]
        assert rows["pred"].tolist() == preds.tolist()
        assert int(rows["correct"].sum()) == int((preds == y).sum())
    png = table[table.pipeline == "offload:png"]  # lossless: the teacher's predictions exactly
    assert png["pred"].tolist() == predict(load_bundled("teacher"), x).tolist()


def test_payload_bytes_are_what_the_pipeline_emits(table, fmnist_test):
    pipe = build_pipeline("offload:webp?quality=50")
    rows = table[table.pipeline == pipe.name].set_index("sample")
    for i in (0, 17, N - 1):
        assert rows.loc[i, "payload_bytes"] == len(pipe.mobile(fmnist_test.images[i]))
    assert (table[table.strategy == "local"]["payload_bytes"] == 1).all()


def test_flops_and_params_per_side(table):
    teacher = load_bundled("teacher")
    t = table[table.pipeline == "local:teacher"].iloc[0]
    assert t.mobile_flops == model_flops(teacher) > 1e6 and t.edge_flops == 0
    o = table[table.pipeline == "offload:png"].iloc[0]
    assert o.mobile_flops == 0 and o.edge_flops == t.mobile_flops
    assert o.edge_params == teacher.n_params() == t.mobile_params


def test_rerun_comes_from_cache_and_a_smaller_request_is_served_by_it(table, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("measured again despite the cache")

    monkeypatch.setattr(ensure_mod, "measure_pipelines", boom)
    again = ensure_profile(NAMES, N, repeats=1, progress=False)
    assert again.drop(columns=[]).equals(table)
    assert len(ensure_profile(NAMES[:1], 40, repeats=1, progress=False)) == 40


def test_cli_profile_writes_parquet_and_prints_summary(tmp_path):
    proc = run_cli("profile", "--pipelines", "local:light,offload:jpeg?quality=30", "--samples", "20", "--repeats", "1",
                   "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "offload:jpeg?quality=30" in proc.stdout and "accuracy" in proc.stdout
    df = read_profile(tmp_path / "profile.parquet")
    assert len(df) == 40 and df.attrs["sc2sim"]["threads"] == 1
    torch.set_num_threads(torch.get_num_threads())


def test_timing_subset_measures_bytes_everywhere_and_times_only_the_first_k(fmnist_test, tmp_path, monkeypatch):
    """Bytes and predictions on every sample; batch-1 times (and the batch-1 bytes) on the first k."""
    monkeypatch.setenv("SC2SIM_CACHE", str(tmp_path))
    names = ["local:teacher", "offload:jpeg?quality=50", "split:naive?stage=3&bits=2"]
    t = ensure_profile(names, 60, repeats=1, progress=False, timed=12)
    assert t.attrs["sc2sim"]["timed_samples"] == 12
    for name, g in t.groupby("pipeline"):
        g = g.sort_values("sample")
        assert g["mobile_ms"].iloc[:12].notna().all() and g["mobile_ms"].iloc[12:].isna().all()
        assert (g["payload_bytes"] > 0).all() and g["pred"].between(0, 9).all()
        b1 = g.iloc[:12]
        assert (b1["batch1_pred"] == b1["pred"]).all(), name
        # batched (channels-last) and batch-1 convolutions may differ in the last float bit: split:naive's
        # min-max quantised features may then zlib a few bytes longer or shorter (10,000 images: at most
        # 6 B, a mean of -0.003 B; profiling.quality), the entropy-coded and image payloads by nothing
        diff = (b1["batch1_payload_bytes"] - b1["payload_bytes"]).abs()
        assert diff.max() <= (8 if name.startswith("split:naive") else 0), name
        assert g["batch1_payload_bytes"].iloc[12:].isna().all()
    jpeg = build_pipeline("offload:jpeg?quality=50")
    rows = t[t.pipeline == jpeg.name].set_index("sample")
    assert rows.loc[59, "payload_bytes"] == len(jpeg.mobile(fmnist_test.images[59]))  # an untimed sample: real bytes
    summary = summarize_profile(t)
    assert summary["timed_samples"].tolist() == [12, 12, 12] and summary["samples"].tolist() == [60, 60, 60]
    assert ensure_profile(names[:1], 60, repeats=1, progress=False, timed=12).equals(t[t.pipeline == names[0]])  # cached


def test_batched_pass_gives_the_batch1_bytes_for_entropy_coded_pipelines(fmnist_test):
    """compressai's rANS payloads and the image codecs do not depend on the batch size."""
    images = fmnist_test.images[:20]
    for name in ("split:sc2?beta=0.003", "offload:learned?lmbda=0.0067", "offload:webp?quality=50", "local:light"):
        pipe = build_pipeline(name)
        batch = pipe.mobile_batch(images)
        assert batch == [pipe.mobile(im) for im in images], name
        assert pipe.edge_batch(batch).tolist() == [pipe.edge(p) for p in batch], name


def test_idle_gap_is_its_own_cache_entry_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("SC2SIM_CACHE", str(tmp_path))
    back_to_back = ensure_profile(["local:light"], 4, repeats=1, progress=False)
    idle = ensure_profile(["local:light"], 4, repeats=2, progress=False, idle_gap_ms=5)
    assert idle.attrs["sc2sim"]["idle_gap_ms"] == 5 and back_to_back.attrs["sc2sim"]["idle_gap_ms"] == 0
    assert len(list(tmp_path.glob("*.parquet"))) == 2 and idle["mobile_ms"].notna().all()


def test_pipelines_timed_in_separate_runs_get_one_line(tmp_path, monkeypatch, capsys):
    """Stage times from separate timing runs differ by the host's drift between them (BENCHMARKS.md
    section 9): a table that mixes runs says so once, naming which pipeline came from which run."""
    monkeypatch.setenv("SC2SIM_CACHE", str(tmp_path / "a"))
    names = ["local:light", "offload:png"]
    ensure_profile(names[:1], 8, repeats=1, progress=False, timed=4)
    assert "separate timing runs" not in capsys.readouterr().err
    mixed = ensure_profile(names, 8, repeats=1, progress=False, timed=4)
    err = capsys.readouterr().err
    assert "2 separate timing runs (offload:png now; local:light earlier (cached))" in err and "--no-cache" in err
    runs = {n: mixed.attrs["sc2sim"]["timing"][n]["run"] for n in names}
    assert len(set(runs.values())) == 2 and all(len(r) == 12 for r in runs.values())
    ensure_profile(names, 8, repeats=1, progress=False, timed=4)  # both cached now, still from two runs
    assert "2 separate timing runs (local:light earlier (cached); offload:png earlier (cached))" in capsys.readouterr().err
    monkeypatch.setenv("SC2SIM_CACHE", str(tmp_path / "b"))
    together = ensure_profile(names, 8, repeats=1, progress=False, timed=4)
    assert "separate timing runs" not in capsys.readouterr().err
    assert len({together.attrs["sc2sim"]["timing"][n]["run"] for n in names}) == 1
    ensure_profile(names, 8, repeats=1, progress=False, timed=4)  # all cached from one run: no note either
    assert "separate timing runs" not in capsys.readouterr().err


def test_mixed_runs_note_groups_pipelines_by_run():
    from sc2sim.profiling.timing import NOW, mixed_runs_note

    assert mixed_runs_note({"a": NOW, "b": NOW}) is None and mixed_runs_note({"a": "r1", "b": "r1"}) is None
    assert mixed_runs_note({"a": None, "b": None}) is None  # entries from before run ids: cannot tell apart
    note = mixed_runs_note({"a": "r1", "b": NOW, "c": None, "d": "r1"})
    assert note.startswith("note: these stage times come from 3 separate timing runs (b now; a, d earlier (cached); "
                           "c earlier (cached))")
    assert "sc2sim profile --pipelines 'a,b,c,d' --no-cache" in note and "\n" not in note
