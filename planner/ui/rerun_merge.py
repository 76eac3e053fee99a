"""A value typed just before a click on another page reaches the server's next run.

A text field sends its text when it loses the focus, and a click on a page in the sidebar
takes the focus away from it: the browser sends the field's text (a rerun of the page it
is on) and, a moment later, the switch of page. The switch carries only the widgets that
stay on the screen (the sidebar's), not the fields of the page being left. Streamlit 1.67
lets the newer request win, and the typed text is lost whenever the switch arrives
before the first run has taken its values in (on a busy server, or when both requests
come within a few milliseconds):

- with `runner.fastReruns` (its default) the first run is stopped and a new one started
  with the switch's values alone;
- without it the switch replaces a request not yet started (merging keeps only clicks of
  the older one), and a run that has started stops for the switch before it reads its
  values.

`install` turns `fastReruns` off and makes each request from the browser carry the values
the request before it sent for widgets it does not mention (clicks are left as Streamlit
handles them). So the new page's run still receives the text, and the Editor's draft is
kept from it (`planner.ui.unsaved`); at the end of that run Streamlit drops the fields of
the page left behind, as it always does. A request on
the same page mentions every widget the browser shows, so for it nothing changes. Only
the dashboard's own server (`python -m planner serve`) installs it.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import (
    RerunData,
    ScriptRequests,
    ScriptRequestType,
)

# The Streamlit release this was written and tested against; another release may queue
# requests differently, so it is not installed there.
STREAMLIT_VERSION = "1.67.0"

# What a click sends (button, form submit, chat input): acted on by the run that gets it.
_CLICKS = frozenset(
    {"trigger_value", "string_trigger_value", "chat_input_value", "json_trigger_value"}
)

_streamlit_request_rerun = ScriptRequests._request_rerun_locked


def carried(older: WidgetStates | None, newer: WidgetStates) -> WidgetStates:
    """`newer`, plus the values in `older` of widgets that `newer` does not mention."""
    mentioned = {state.id for state in newer.widgets}
    merged = WidgetStates()
    merged.CopyFrom(newer)
    merged.widgets.extend(
        state
        for state in (older.widgets if older is not None else ())
        if state.id not in mentioned and state.WhichOneof("value") not in _CLICKS
    )
    return merged


def _whole_runs(older: RerunData, newer: RerunData) -> bool:
    """Whether both requests run the whole page (a fragment's rerun carries its own)."""
    return not (older.fragment_id or older.fragment_id_queue or newer.fragment_id)


def _request_rerun_locked(self: ScriptRequests, new_data: RerunData) -> bool:
    """Streamlit's queueing of a rerun request; a request from the browser first takes in
    the values of the request before it (the run queued, or running and perhaps not yet
    past reading its values) for the widgets it does not mention."""
    older = self._rerun_data
    if (
        self._state in (ScriptRequestType.RERUN, ScriptRequestType.CONTINUE)
        and new_data.widget_states is not None
        and older.widget_states is not None
        and _whole_runs(older, new_data)
    ):
        new_data = replace(
            new_data, widget_states=carried(older.widget_states, new_data.widget_states)
        )
    return bool(_streamlit_request_rerun(self, new_data))


def install() -> dict[str, object]:
    """Put the carrying in place; returns the Streamlit options it needs (empty, and
    nothing installed, on a Streamlit release it was not made for)."""
    if streamlit.__version__ != STREAMLIT_VERSION:
        return {}
    ScriptRequests._request_rerun_locked = _request_rerun_locked  # type: ignore[method-assign]
    return {"runner.fastReruns": False}
