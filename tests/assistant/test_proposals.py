"""`propose_flow_change` inputs checked without a server: patches, and the evaluator's verdict."""

from __future__ import annotations

from ordex.services.assistant import PROPOSE_TOOL, apply_patch, check_proposal
from tests.flows.examples import EXAMPLE_FLOW


def test_patch_removes_a_node_with_its_edges_and_keeps_editor_keys() -> None:
    base = EXAMPLE_FLOW()
    base["nodes"][1]["position"] = {"x": 1, "y": 2}
    patched = apply_patch(
        base,
        {
            "settings": {"feeBps": 5, "maxEntries": None},
            "removeNodes": ["gt", "exit"],
            "upsertNodes": [{"id": "rsi", "type": "indicator.rsi", "params": {"period": 7}}],
        },
    )
    assert [n["id"] for n in patched["nodes"]] == ["t", "rsi", "lt", "sl", "buy"]
    assert [e["id"] for e in patched["edges"]] == ["e1", "e2", "e4", "e5"]
    assert patched["nodes"][1] == {
        "id": "rsi", "type": "indicator.rsi", "params": {"period": 7}, "position": {"x": 1, "y": 2}
    }  # fmt: skip
    assert patched["settings"]["feeBps"] == 5 and "maxEntries" not in patched["settings"]
    assert base["nodes"][1]["params"]["period"] == 14  # the base is left alone
    proposal = check_proposal(
        "t1", {"summary": "s", "patch": {"removeNodes": ["gt", "exit"]}}, base
    )
    assert proposal["valid"] is True


def test_a_patch_that_breaks_the_flow_is_named() -> None:
    proposal = check_proposal(
        "t2", {"summary": "s", "patch": {"removeEdges": ["e4"]}}, EXAMPLE_FLOW()
    )
    assert proposal["valid"] is False
    assert proposal["error"]["code"] == "INVALID_FLOW"
    assert proposal["error"]["details"]["node"] == "buy"


def test_malformed_inputs() -> None:
    base = EXAMPLE_FLOW()
    for tool_input in (
        "not an object",
        {"summary": "neither"},
        {"summary": "both", "document": base, "patch": {}},
        {"summary": "s", "document": {"settings": [], "nodes": [], "edges": []}},
        {"summary": "s", "patch": {"upsertNodes": [{"type": "no id"}]}},
        {"summary": "s", "patch": {"removeNodes": "gt"}},
    ):
        proposal = check_proposal("t3", tool_input, base)
        assert proposal["valid"] is False
        assert proposal["error"]["code"] == "INVALID_PROPOSAL", tool_input
    assert PROPOSE_TOOL["input_schema"]["required"] == ["summary"]
