"""`planner.ui.rerun_merge`: a request from the browser keeps the values the one before it
sent for widgets it does not mention, so text sent just before a switch of page is not
lost when the switch overtakes it (see also `test_typed_then_leave.py`, over the wire)."""

from __future__ import annotations

import pytest
import streamlit
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import (
    RerunData,
    ScriptRequests,
    ScriptRequestType,
)

from planner.ui import rerun_merge

EDITOR, BOARD = "hash-editor", "hash-board"


def _states(*states: WidgetState) -> WidgetStates:
    out = WidgetStates()
    out.widgets.extend(states)
    return out


def _text(widget_id: str, value: str) -> WidgetState:
    return WidgetState(id=widget_id, string_value=value)


def _values(data: RerunData) -> dict[str, object]:
    assert data.widget_states is not None
    return {s.id: getattr(s, s.WhichOneof("value")) for s in data.widget_states.widgets}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    # Put back what Streamlit had after the test: other tests in this process use it.
    monkeypatch.setattr(
        ScriptRequests, "_request_rerun_locked", ScriptRequests._request_rerun_locked
    )
    return rerun_merge.install()


def test_newer_values_win_older_ones_fill_in_and_clicks_stay_behind() -> None:
    older = _states(
        _text("body", "typed"),
        _text("title", "old title"),
        WidgetState(id="save", trigger_value=True),
    )
    newer = _states(_text("title", "new title"), _text("language", "de"))
    merged = rerun_merge.carried(older, newer)
    assert {s.id: s.string_value for s in merged.widgets} == {
        "title": "new title",
        "language": "de",
        "body": "typed",
    }
    assert [s.id for s in newer.widgets] == ["title", "language"]  # not changed in place


def test_installs_only_on_the_streamlit_release_it_was_made_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        ScriptRequests, "_request_rerun_locked", ScriptRequests._request_rerun_locked
    )
    before = ScriptRequests._request_rerun_locked
    monkeypatch.setattr(streamlit, "__version__", "1.99.0")
    assert rerun_merge.install() == {}
    assert ScriptRequests._request_rerun_locked is before


def test_a_switch_overtaking_a_run_not_yet_started_keeps_its_text(
    installed: dict[str, object],
) -> None:
    assert installed == {"runner.fastReruns": False}
    requests = ScriptRequests()
    requests.request_rerun(
        RerunData(page_script_hash=EDITOR, widget_states=_states(_text("body", "typed")))
    )
    requests.request_rerun(
        RerunData(page_script_hash=BOARD, widget_states=_states(_text("language", "de")))
    )
    picked = requests.on_scriptrunner_ready()
    assert picked.type == ScriptRequestType.RERUN
    assert picked.rerun_data.page_script_hash == BOARD
    assert _values(picked.rerun_data) == {"language": "de", "body": "typed"}


def test_a_switch_overtaking_a_run_that_started_keeps_its_text(
    installed: dict[str, object],
) -> None:
    requests = ScriptRequests()
    requests.request_rerun(
        RerunData(
            page_script_hash=EDITOR,
            widget_states=_states(
                _text("body", "typed"), WidgetState(id="save", trigger_value=True)
            ),
        )
    )
    assert requests.on_scriptrunner_ready().type == ScriptRequestType.RERUN  # it runs
    requests.request_rerun(RerunData(page_script_hash=BOARD, widget_states=_states()))
    # The run stops at its next yield point (Streamlit's first one comes before it reads
    # its values) and the switch runs with the text, without the click.
    yielded = requests.on_scriptrunner_yield()
    assert yielded is not None and yielded.type == ScriptRequestType.RERUN
    assert yielded.rerun_data.page_script_hash == BOARD
    assert _values(yielded.rerun_data) == {"body": "typed"}


def test_a_run_asked_for_by_the_script_itself_is_left_as_it_is(
    installed: dict[str, object],
) -> None:
    requests = ScriptRequests()
    requests.request_rerun(
        RerunData(page_script_hash=EDITOR, widget_states=_states(_text("body", "typed")))
    )
    requests.on_scriptrunner_ready()
    # st.rerun() and st.switch_page() send no widget values: the session's are used.
    requests.request_rerun(RerunData(page_script_hash=BOARD, widget_states=None))
    yielded = requests.on_scriptrunner_yield()
    assert yielded is not None and yielded.rerun_data.widget_states is None
