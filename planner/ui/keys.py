"""Session-state and widget keys: named constants, so pages and tests agree on them."""

from __future__ import annotations

USER_ID = "user_id"
LANGUAGE = "language"
SIGN_IN_FORM = "sign_in_form"
SIGN_IN_USERNAME = "sign_in_username"
SIGN_IN_PASSWORD = "sign_in_password"  # noqa: S105 (a widget key, not a secret)
SIGN_OUT = "sign_out"
MY_IDEA_PICK = "my_idea_pick"
PLAN_RANGE = "plan_range"
