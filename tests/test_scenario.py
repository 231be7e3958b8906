"""Scenario schema: shipped scenarios load, sweeps expand to the cross product, errors are one precise line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sc2sim.errors import ConfigError
from sc2sim.points import expand
from sc2sim.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def base(**over):
    doc = {
        "name": "t", "pipelines": ["local:teacher", "offload:webp?quality=50"], "mobile": "rpi4", "edge": "t4",
        "network": {"uplink": {"bandwidth_mbps": 10, "one_way_delay_ms": 20}},
    }
    doc.update(over)
    return doc


def write(tmp_path, doc, name="s.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return p


def error_of(tmp_path, doc) -> str:
    with pytest.raises(ConfigError) as info:
        load_scenario(write(tmp_path, doc))
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_shipped_scenarios_load_and_expand():
    names = {p.stem for p in SCENARIOS}
    assert {"default", "wifi-sweep", "lte-trace", "crowded-cell", "deadline-study"} <= names
    counts = {p.stem: len(expand(load_scenario(p))) for p in SCENARIOS}
    assert counts["default"] == 4 * 9 and counts["wifi-sweep"] == 7 and counts["lte-trace"] == 3
    assert counts["crowded-cell"] == 2 and counts["deadline-study"] == 2 * 2 * 4
    default = load_scenario(ROOT / "scenarios" / "default.yaml")
    assert default.pipelines == ["local:teacher", "local:light", "offload:png", "offload:jpeg?quality=50",
                                 "offload:webp?quality=50", "offload:learned?lmbda=0.0067",
                                 "split:naive?bits=2&stage=3", "split:sc2?beta=0.003"]
    assert default.workload.requests == 1000 and default.mobile == ["esp32", "rpi4", "jetson-nano", "phone-flagship"] and default.edge == ["t4"]


def test_sweep_is_cross_product_with_labels():
    sc = parse_scenario(base(
        mobile=["rpi4", "jetson-nano"],
        network={"uplink": {"bandwidth_mbps": [1, 10, 100], "one_way_delay_ms": [5, 50]}},
        workload={"devices": [1, 4], "arrival": {"rate_hz": 5}},
    ), "x.yaml")
    pts = expand(sc)
    assert len(pts) == 2 * 3 * 2 * 2
    combos = {(p.mobile, p.network.uplink.bandwidth_mbps, p.network.uplink.one_way_delay_ms, p.workload.devices) for p in pts}
    assert len(combos) == len(pts)
    assert pts[0].label == "mobile=rpi4,bw=1Mbps,delay=5ms,dev=1"
    assert pts[-1].params == {"mobile": "jetson-nano", "bandwidth_mbps": 100, "one_way_delay_ms": 50, "devices": 4}
    assert [p.index for p in pts] == list(range(len(pts)))
    single = expand(parse_scenario(base(), "x.yaml"))
    assert len(single) == 1 and single[0].label == "single" and single[0].params == {}
    # the omitted downlink defaults to 50 Mbit/s with the uplink's delay
    assert single[0].network.downlink.bandwidth_mbps == 50 and single[0].network.downlink.one_way_delay_ms == 20


def test_trace_path_resolves_against_the_scenario_folder(tmp_path):
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "x.up").write_text("1\n2\n")
    sub = tmp_path / "scen"
    sub.mkdir()
    doc = base(network={"uplink": {"trace": "../traces/x.up", "scale": [1, 2]}})
    pts = expand(load_scenario(write(sub, doc)))
    assert pts[0].network.uplink.trace.resolve() == (tmp_path / "traces" / "x.up").resolve()
    assert [p.label for p in pts] == ["scale=1", "scale=2"]


def test_unknown_key_names_file_path_and_suggests(tmp_path):
    msg = error_of(tmp_path, base(network={"uplink": {"bandwith_mbps": 10}}))
    assert msg.startswith(f"{tmp_path / 's.yaml'}: network.uplink.bandwith_mbps: unknown key")
    assert "did you mean 'bandwidth_mbps'" in msg
    msg = error_of(tmp_path, base(workloads={}))
    assert ": workloads: unknown key" in msg and "did you mean 'workload'" in msg


@pytest.mark.parametrize("doc_over, path, value, allowed", [
    ({"network": {"uplink": {"bandwidth_mbps": -3}}}, "network.uplink.bandwidth_mbps", "-3", "in [0.001, 10^5] Mbit/s"),
    ({"network": {"uplink": {"bandwidth_mbps": [1, 0]}}}, "network.uplink.bandwidth_mbps[1]", "0", "in [0.001, 10^5] Mbit/s"),
    ({"network": {"uplink": {"bandwidth_mbps": 5, "loss": 1.5}}}, "network.uplink.loss", "1.5", "in [0, 0.999]"),
    ({"workload": {"arrival": {"kind": "bursty"}}}, "workload.arrival.kind", "'bursty'", "'periodic' or 'poisson'"),
    ({"network": {"uplink": {"bandwidth_mbps": 5}, "transport": "quic"}}, "network.transport.kind", "'quic'", "'tcp' or 'raw'"),
    ({"pipelines": ["local:teacher", "gpu:resnet"]}, "pipelines[1]", "'gpu:resnet'", "STRATEGY:NAME"),
    ({"pipelines": ["local:teacher", "local:teacher"]}, "pipelines", "local:teacher", "listed twice"),
    ({"dataset": "cifar10"}, "dataset", "'cifar10'", "imagefolder:"),
    ({"edge_server": {"batching": {"max_batch": 0}}}, "edge_server.batching.max_batch", "0", "whole number in [1, 4096]"),
])
def test_bad_values_name_field_value_and_what_is_allowed(tmp_path, doc_over, path, value, allowed):
    msg = error_of(tmp_path, base(**doc_over))
    assert msg.startswith(f"{tmp_path / 's.yaml'}: {path}: ")
    assert value in msg and allowed in msg and " — " in msg


def test_semantic_errors(tmp_path):
    msg = error_of(tmp_path, base(network={"uplink": {"one_way_delay_ms": 5}}))
    assert "network.uplink" in msg and "exactly one of bandwidth_mbps" in msg
    msg = error_of(tmp_path, base(network={"uplink": {"bandwidth_mbps": 5}, "downlink": {"trace": "x.up"}}))
    assert "network.downlink" in msg and "only supported on the uplink" in msg
    msg = error_of(tmp_path, base(policy="adaptive", workload={}))
    assert "policy: 'adaptive' — needs workload.deadline_ms" in msg
    msg = error_of(tmp_path, base(mobile="rpi5"))
    assert ": mobile: 'rpi5' — allowed mobile devices:" in msg and "rpi4" in msg
    msg = error_of(tmp_path, base(edge=["t4", "v100"]))
    assert ": edge[1]: 'v100' — allowed edge devices:" in msg
    msg = error_of(tmp_path, base(mobile="t4"))  # an edge-only profile cannot be the mobile device
    assert ": mobile: 't4'" in msg
    msg = error_of(tmp_path, base(network={"uplink": {"trace": "nope.up"}}))
    assert "network.uplink.trace: 'nope.up' — no such file" in msg
    msg = error_of(tmp_path, {"pipelines": ["local:teacher"], "network": {"uplink": {"bandwidth_mbps": 1}}})
    assert ": name: (missing) — required" in msg


def test_yaml_syntax_and_top_level(tmp_path):
    msg = error_of(tmp_path, "name: t\npipelines: ]\n")
    assert "YAML syntax error at line 2" in msg
    msg = error_of(tmp_path, "name: t\n  pipelines: [local:teacher]\n")
    assert "YAML syntax error at line 2" in msg
    msg = error_of(tmp_path, "- just\n- a list\n")
    assert "(top level)" in msg
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "absent.yaml")
