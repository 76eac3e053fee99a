"""CSV import and export panels: ideas on 'Inbox', the plan on 'Calendar'.

Imports are all or nothing (`planner.csvio`): a file with any broken line stores nothing,
and the panel names every broken line next to the uploader.
"""

from __future__ import annotations

import io
from typing import Any, Literal

import streamlit as st
from sqlmodel import Session
from streamlit.runtime.uploaded_file_manager import UploadedFile

from planner import csvio
from planner.errors import CsvImportFailed, PlannerError
from planner.models import User
from planner.ui import keys, moves, state, widgets
from planner.ui.plain import md

Kind = Literal["ideas", "plan"]


def import_file(session: Session, *, user: User, kind: Kind, raw: bytes) -> str:
    """Import `raw` as `kind` for `user`; the success text, or CsvImportFailed."""
    if kind == "ideas":
        stored = csvio.import_ideas(session, actor=user, raw=raw)
        return state.t("csv.done.ideas", count=len(stored))
    result = csvio.import_plan(session, actor=user, raw=raw)
    done = state.t(
        "csv.done.plan",
        created=len(result.created),
        moved=len(result.moved),
        unchanged=result.unchanged,
    )
    queued = [
        state.t("csv.queued", line=line, when=state.when(post.publish_at, user.timezone))
        for line, post in result.queued
    ]
    off_plan = [
        state.t("csv.line", line=line, message=moves.message(text))
        for line, text in result.off_plan
    ]
    return "\n\n".join([done, *queued, *off_plan])


def problem_lines(err: CsvImportFailed) -> list[str]:
    """Every broken line of a refused file, as 'Line 3: …' in the session's language."""
    return [
        state.t("csv.line", line=line, message=moves.message(text)) for line, text in err.problems
    ]


def export_file(
    session: Session, user: User, kind: Kind, fmt: csvio.CsvFormat = csvio.COMMA
) -> str:
    """The export as CSV text in `fmt`, made only when the button is clicked."""
    out = io.StringIO()
    if kind == "ideas":
        csvio.export_ideas(session, actor=user, out=out, fmt=fmt)
    else:
        csvio.export_plan(session, actor=user, out=out, fmt=fmt)
    return out.getvalue()


def _refused(status: Any, err: CsvImportFailed) -> None:
    status.update(label=state.t("csv.refused"), state="error")
    st.error(state.t("csv.nothing_imported", count=len(err.problems)))
    for line in problem_lines(err):
        st.error(md(line))


def _import(user_id: int, kind: Kind, uploaded: UploadedFile) -> None:
    """Run one import with its progress shown; on success, start over with the new data.

    A file over `csvio.MAX_BYTES` is refused by its size, before its content is read."""
    t = state.t
    with st.status(t("csv.reading"), expanded=True) as status:
        try:
            csvio.check_size(uploaded.size)
        except CsvImportFailed as err:
            _refused(status, err)
            return
        raw = uploaded.getvalue()
        st.text(t("csv.size", size=len(raw)))
        status.update(label=t("csv.checking"))
        try:
            with Session(state.engine(), expire_on_commit=False) as session:
                user = session.get(User, user_id)
                if user is None:
                    return
                done = import_file(session, user=user, kind=kind, raw=raw)
        except CsvImportFailed as err:
            _refused(status, err)
            return
        except PlannerError as err:
            status.update(label=t("csv.refused"), state="error")
            for text in moves.error_text(err):
                st.error(md(text))
            return
        status.update(label=t("csv.saved"), state="complete")
    st.session_state[keys.CSV_DONE + kind] = done
    # A new uploader for the next file: the stored one must not be imported twice.
    st.session_state[keys.CSV_ROUND + kind] = st.session_state.get(keys.CSV_ROUND + kind, 0) + 1
    st.rerun()


def panel(user: User, kind: Kind) -> None:
    """The 'Import / export CSV' expander for `kind`."""
    t = state.t
    assert user.id is not None
    user_id = user.id
    done = st.session_state.pop(keys.CSV_DONE + kind, None)
    opened = widgets.lazy_expander(
        t("csv.heading"), key=keys.CSV_OPEN + kind, open_now=done is not None
    )
    with opened as is_open:
        if not is_open:
            return
        if done:
            st.success(done)
        st.caption(t(f"csv.columns.{kind}"))
        upload_round = st.session_state.get(keys.CSV_ROUND + kind, 0)
        uploaded = st.file_uploader(
            t("csv.file"), type=["csv"], key=f"{keys.CSV_FILE}{kind}_{upload_round}"
        )
        clicked = st.button(t("csv.import"), key=keys.CSV_IMPORT + kind, disabled=uploaded is None)
        if clicked and uploaded is not None:
            _import(user_id, kind, uploaded)
        # The separator of the reader's language, fixed when drawn: the file is made later.
        fmt = csvio.CsvFormat.for_language(state.lang())
        widgets.download(
            t(f"csv.export.{kind}"),
            lambda session, reader: export_file(session, reader, kind, fmt),
            user=user,
            file_name=t(f"file.{kind}"),
            key=keys.CSV_EXPORT + kind,
        )
