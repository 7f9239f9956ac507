"""Tests of the feature policy model (sipstack.policy).

* Defaults: a fresh policy has every feature at its documented default.
* Precedence: for any sequence of administrator and user operations,
  ``effective`` and ``explain`` agree with an independent model of the rule
  user (unless locked or never user-settable) > administrator > default.
* Refusals: a locked feature never changes through ``set_user``; archiving is
  never turned on by ``set_user``; refused calls change nothing.
* In-band push: ``apply_header(to_header(p))`` reproduces the administrator
  part; any text either applies or raises ``PolicyHeaderError`` (400) and
  leaves the policy untouched.
* Configuration: ``from_mapping`` accepts the documented table shapes and
  raises ``SIPUsageError`` for anything else.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sipstack.errors import SIPParseError, SIPUsageError
from sipstack.policy import (
    FEATURES,
    MAX_HEADER_ITEMS,
    MAX_HEADER_LENGTH,
    AdminSetting,
    Feature,
    FeatureSpec,
    Policy,
    PolicyHeaderError,
    PolicyLocked,
    PolicyRefused,
    apply_header,
    from_mapping,
    to_header,
)

# The defaults PRODUCT.md documents, written out again on purpose: the test
# must fail if the table in the module drifts from the product description.
DOCUMENTED_DEFAULTS = {
    Feature.CLIENT_LOG: False,
    Feature.ARCHIVE: False,
    Feature.CALL_LOG: True,
    Feature.HISTORY: False,
    Feature.STATISTICS: False,
    Feature.PRESENCE: True,
    Feature.UPDATES: False,
}


def admin_part(policy: Policy) -> dict[Feature, AdminSetting | None]:
    return {f: policy.admin_setting(f) for f in Feature}


def user_part(policy: Policy) -> dict[Feature, bool | None]:
    return {f: policy.user_value(f) for f in Feature}


# --------------------------------------------------------------------------
# The table and the defaults


def test_every_feature_has_one_spec() -> None:
    assert set(FEATURES) == set(Feature)
    assert all(isinstance(spec, FeatureSpec) for spec in FEATURES.values())
    assert {f.value for f in Feature} >= {
        "client-log",
        "archive",
        "call-log",
        "history",
        "statistics",
        "presence",
    }


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        FEATURES[Feature.ARCHIVE] = FeatureSpec(True, True, "x")  # type: ignore[index]


def test_fresh_policy_has_documented_defaults() -> None:
    policy = Policy()
    assert set(DOCUMENTED_DEFAULTS) == set(Feature)
    for feature, default in DOCUMENTED_DEFAULTS.items():
        assert FEATURES[feature].default is default
        assert policy.effective(feature) is default
        assert policy.explain(feature) == "default"
        assert policy.admin_setting(feature) is None
        assert policy.user_value(feature) is None
    assert policy.effective(Feature.ARCHIVE) is False
    assert policy.effective(Feature.CLIENT_LOG) is False
    assert policy.effective(Feature.STATISTICS) is False
    assert policy.effective(Feature.HISTORY) is False
    assert policy.effective(Feature.CALL_LOG) is True


def test_only_archive_is_administrator_only() -> None:
    assert [f for f, s in FEATURES.items() if not s.user_may_set] == [Feature.ARCHIVE]


# --------------------------------------------------------------------------
# Examples of the precedence and the refusals


def test_feature_names_are_accepted() -> None:
    policy = Policy()
    policy.set_user("client-log", True)
    assert policy.effective("client-log") is True
    assert policy.effective(Feature.CLIENT_LOG) is True


def test_unknown_feature_name_is_a_usage_error() -> None:
    with pytest.raises(SIPUsageError, match="unknown feature 'telemetry'"):
        Policy().effective("telemetry")


@pytest.mark.parametrize("value", [1, 0, "on", "true"])
def test_non_bool_values_are_refused(value: Any) -> None:
    policy = Policy()
    with pytest.raises(SIPUsageError, match="True, False or None"):
        policy.set_admin(Feature.HISTORY, value)
    with pytest.raises(SIPUsageError, match="True, False or None"):
        policy.set_user(Feature.HISTORY, value)
    with pytest.raises(SIPUsageError, match="locked"):
        policy.set_admin(Feature.HISTORY, True, locked=1)  # type: ignore[arg-type]
    assert admin_part(policy) == admin_part(Policy())


def test_user_overrides_unlocked_administrator_value() -> None:
    policy = Policy()
    policy.set_admin(Feature.CLIENT_LOG, True)
    assert (policy.effective(Feature.CLIENT_LOG), policy.explain(Feature.CLIENT_LOG)) == (
        True,
        "administrator",
    )
    policy.set_user(Feature.CLIENT_LOG, False)
    assert (policy.effective(Feature.CLIENT_LOG), policy.explain(Feature.CLIENT_LOG)) == (
        False,
        "user",
    )
    policy.set_user(Feature.CLIENT_LOG, None)
    assert policy.explain(Feature.CLIENT_LOG) == "administrator"
    policy.set_admin(Feature.CLIENT_LOG, None)
    assert policy.explain(Feature.CLIENT_LOG) == "default"


def test_locked_feature_refuses_user_changes() -> None:
    policy = Policy()
    policy.set_admin(Feature.CLIENT_LOG, True, locked=True)
    assert not policy.user_may_change(Feature.CLIENT_LOG)
    for value in (False, True, None):
        with pytest.raises(PolicyLocked) as info:
            policy.set_user(Feature.CLIENT_LOG, value)
        message = str(info.value)
        assert "client-log" in message
        assert "administrator locked" in message
        assert info.value.feature is Feature.CLIENT_LOG
        assert isinstance(info.value, SIPUsageError)
        assert isinstance(info.value, PolicyRefused)
    assert policy.effective(Feature.CLIENT_LOG) is True
    assert policy.explain(Feature.CLIENT_LOG) == "administrator (locked)"


def test_lock_hides_but_keeps_an_earlier_user_value() -> None:
    policy = Policy()
    policy.set_user(Feature.CALL_LOG, False)
    policy.set_admin(Feature.CALL_LOG, True, locked=True)
    assert policy.effective(Feature.CALL_LOG) is True
    assert policy.user_value(Feature.CALL_LOG) is False
    policy.set_admin(Feature.CALL_LOG, True)
    assert policy.effective(Feature.CALL_LOG) is False
    assert policy.explain(Feature.CALL_LOG) == "user"


def test_lock_needs_a_value() -> None:
    with pytest.raises(SIPUsageError, match="without a value"):
        Policy().set_admin(Feature.HISTORY, None, locked=True)


@pytest.mark.parametrize("locked", [False, True])
@pytest.mark.parametrize("value", [True, False, None])
def test_user_may_never_set_archive(locked: bool, value: bool | None) -> None:
    policy = Policy()
    policy.set_admin(Feature.ARCHIVE, False, locked=locked)
    assert not policy.user_may_change(Feature.ARCHIVE)
    with pytest.raises(PolicyRefused) as info:
        policy.set_user(Feature.ARCHIVE, value)
    assert "archive" in str(info.value)
    assert "only the administrator" in str(info.value)
    assert isinstance(info.value, SIPUsageError)
    assert policy.effective(Feature.ARCHIVE) is False
    assert policy.user_value(Feature.ARCHIVE) is None


def test_administrator_turns_archive_on() -> None:
    policy = Policy()
    policy.set_admin(Feature.ARCHIVE, True)
    assert policy.effective(Feature.ARCHIVE) is True
    assert policy.explain(Feature.ARCHIVE) == "administrator"


def test_repr_lists_features_that_are_on() -> None:
    assert repr(Policy()) == "<Policy on=['call-log', 'presence']>"


# --------------------------------------------------------------------------
# Precedence as a property


@dataclass
class Model:
    """The documented precedence, written independently of the module."""

    admin: dict[Feature, tuple[bool, bool]] = field(default_factory=dict)
    user: dict[Feature, bool] = field(default_factory=dict)

    def locked(self, f: Feature) -> bool:
        return f in self.admin and self.admin[f][1]

    def effective(self, f: Feature) -> bool:
        if f in self.user and FEATURES[f].user_may_set and not self.locked(f):
            return self.user[f]
        if f in self.admin:
            return self.admin[f][0]
        return DOCUMENTED_DEFAULTS[f]

    def explain(self, f: Feature) -> str:
        if self.locked(f):
            return "administrator (locked)"
        if f in self.user:
            return "user"
        if f in self.admin:
            return "administrator"
        return "default"


features = st.sampled_from(list(Feature))
values = st.none() | st.booleans()
# Clearing takes no lock: locking without a value is a usage error of its own.
admin_ops = st.tuples(st.just("admin"), features, st.booleans(), st.booleans()) | st.tuples(
    st.just("admin"), features, st.none(), st.just(False)
)
user_ops = st.tuples(st.just("user"), features, values, st.just(False))
operations = st.lists(admin_ops | user_ops, max_size=40)


def apply_ops(ops: list[tuple[str, Feature, bool | None, bool]]) -> Policy:
    policy = Policy()
    for kind, feature, value, locked in ops:
        if kind == "admin":
            policy.set_admin(feature, value, locked=locked)
        else:
            with contextlib.suppress(PolicyRefused):
                policy.set_user(feature, value)
    return policy


@given(operations)
def test_effective_follows_documented_precedence(
    ops: list[tuple[str, Feature, bool | None, bool]],
) -> None:
    policy = Policy()
    model = Model()
    for kind, feature, value, locked in ops:
        before = {f: policy.effective(f) for f in Feature}
        if kind == "admin":
            policy.set_admin(feature, value, locked=locked)
            if value is None:
                model.admin.pop(feature, None)
            else:
                model.admin[feature] = (value, locked)
        else:
            refused = not FEATURES[feature].user_may_set or model.locked(feature)
            try:
                policy.set_user(feature, value)
            except PolicyLocked:
                assert model.locked(feature)
                assert FEATURES[feature].user_may_set
            except PolicyRefused:
                assert not FEATURES[feature].user_may_set
            else:
                assert not refused
                if value is None:
                    model.user.pop(feature, None)
                else:
                    model.user[feature] = value
            if refused:
                # A refused change, and in particular any change to a locked
                # feature or to archiving, leaves every feature as it was.
                assert {f: policy.effective(f) for f in Feature} == before
            if not before[Feature.ARCHIVE]:
                assert policy.effective(Feature.ARCHIVE) is False
        for f in Feature:
            assert policy.effective(f) is model.effective(f)
            assert policy.explain(f) == model.explain(f)
            assert policy.user_may_change(f) is (FEATURES[f].user_may_set and not model.locked(f))
            setting = policy.admin_setting(f)
            expected = model.admin.get(f)
            assert (None if setting is None else (setting.value, setting.locked)) == expected


@given(operations, features, values)
def test_locked_feature_never_changes_through_set_user(
    ops: list[tuple[str, Feature, bool | None, bool]],
    feature: Feature,
    value: bool | None,
) -> None:
    policy = apply_ops(ops)
    lock_value = not policy.effective(feature)
    policy.set_admin(feature, lock_value, locked=True)
    with pytest.raises(PolicyRefused):
        policy.set_user(feature, value)
    assert policy.effective(feature) is lock_value


@given(st.lists(user_ops, max_size=40))
def test_set_user_never_turns_archive_on(
    ops: list[tuple[str, Feature, bool | None, bool]],
) -> None:
    policy = apply_ops(ops)
    assert policy.effective(Feature.ARCHIVE) is False
    with pytest.raises(PolicyRefused):
        policy.set_user(Feature.ARCHIVE, True)
    assert policy.effective(Feature.ARCHIVE) is False


# --------------------------------------------------------------------------
# In-band push: the header value


def test_to_header_example() -> None:
    policy = Policy()
    policy.set_admin(Feature.CLIENT_LOG, True, locked=True)
    policy.set_admin(Feature.ARCHIVE, False)
    policy.set_admin(Feature.STATISTICS, False)
    policy.set_user(Feature.HISTORY, True)  # user values never travel
    assert to_header(policy) == "client-log=on;locked, archive=off, statistics=off"


def test_to_header_of_fresh_policy_is_empty() -> None:
    assert to_header(Policy()) == ""


def test_apply_header_replaces_the_administrator_part_and_keeps_user_values() -> None:
    policy = Policy()
    policy.set_admin(Feature.HISTORY, True, locked=True)
    policy.set_user(Feature.STATISTICS, True)
    apply_header(policy, "client-log=on;locked, archive=on")
    assert policy.admin_setting(Feature.HISTORY) is None
    assert policy.admin_setting(Feature.CLIENT_LOG) == AdminSetting(True, locked=True)
    assert policy.admin_setting(Feature.ARCHIVE) == AdminSetting(True, locked=False)
    assert policy.effective(Feature.STATISTICS) is True
    assert policy.explain(Feature.STATISTICS) == "user"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "CLIENT-LOG = ON ; LOCKED",
        "client-log=on;locked,archive=off",
        "\tclient-log=on ;locked ,\tarchive=off",
    ],
)
def test_apply_header_accepts_whitespace_and_case(text: str) -> None:
    policy = Policy()
    apply_header(policy, text)
    if text.strip():
        assert policy.admin_setting(Feature.CLIENT_LOG) == AdminSetting(True, locked=True)
    else:
        assert admin_part(policy) == admin_part(Policy())


def test_apply_header_ignores_unknown_features_and_parameters() -> None:
    policy = Policy()
    apply_header(policy, "teleport=maybe;x=1, client-log=off;reason=audit;locked")
    assert admin_part(policy) == {
        **admin_part(Policy()),
        Feature.CLIENT_LOG: AdminSetting(False, locked=True),
    }


@pytest.mark.parametrize(
    "text",
    [
        "client-log",
        "client-log=",
        "=on",
        "client-log=yes",
        "client-log=on,",
        ",client-log=on",
        "client-log=on,,archive=off",
        "client-log=on;",
        "client-log=on;locked;locked",
        "client-log=on;locked=yes",
        "client-log=on, client-log=off",
        "client-log=o n",
        'client-log="on"',
        "client-log=on\r\nVia: x",
        "client-log=on\x00",
        "client-log=ön",
        "teleport=",
        "teleport=a b",
        "x" * (MAX_HEADER_LENGTH + 1),
        ",".join(f"f{i}=on" for i in range(MAX_HEADER_ITEMS + 1)),
    ],
)
def test_apply_header_rejects_malformed_values(text: str) -> None:
    policy = Policy()
    policy.set_admin(Feature.HISTORY, True, locked=True)
    before = admin_part(policy)
    with pytest.raises(PolicyHeaderError) as info:
        apply_header(policy, text)
    assert isinstance(info.value, SIPParseError)
    assert info.value.status == 400
    assert admin_part(policy) == before


def test_apply_header_refuses_non_text() -> None:
    with pytest.raises(SIPUsageError):
        apply_header(Policy(), b"archive=on")  # type: ignore[arg-type]


@given(operations, operations)
def test_header_round_trip_reproduces_administrator_values(
    ops: list[tuple[str, Feature, bool | None, bool]],
    other_ops: list[tuple[str, Feature, bool | None, bool]],
) -> None:
    policy = apply_ops(ops)
    header = to_header(policy)
    assert "\r" not in header
    assert "\n" not in header
    assert len(header) <= MAX_HEADER_LENGTH
    # Applied to a policy with any earlier state, the push wins for the
    # administrator part and leaves the user part alone.
    receiver = apply_ops(other_ops)
    users = user_part(receiver)
    apply_header(receiver, header)
    assert admin_part(receiver) == admin_part(policy)
    assert user_part(receiver) == users
    assert to_header(receiver) == header


header_alphabet = st.sampled_from(
    [f.value for f in Feature]
    + ["=", "on", "off", ";", "locked", ",", " ", "\t", "x", "=1", "\r\n", '"', "ö"]
)


@given(st.text(max_size=300) | st.lists(header_alphabet, max_size=30).map("".join))
@example("client-log=on;locked, archive=off")
@example("x" * (MAX_HEADER_LENGTH * 4))
@example("\udcff")
def test_apply_header_raises_only_policy_header_error(text: str) -> None:
    policy = Policy()
    policy.set_user(Feature.CALL_LOG, False)
    policy.set_admin(Feature.PRESENCE, False, locked=True)
    admin_before = admin_part(policy)
    users_before = user_part(policy)
    try:
        apply_header(policy, text)
    except PolicyHeaderError as exc:
        assert exc.status == 400
        assert admin_part(policy) == admin_before
    else:
        # Whatever applied is something to_header can say again exactly.
        again = Policy()
        apply_header(again, to_header(policy))
        assert admin_part(again) == admin_part(policy)
    assert user_part(policy) == users_before


# --------------------------------------------------------------------------
# Configuration: the [policy.features] table


def test_from_mapping_example() -> None:
    policy = from_mapping({"client-log": {"value": True, "locked": True}, "archive": True})
    assert policy.admin_setting(Feature.CLIENT_LOG) == AdminSetting(True, locked=True)
    assert policy.admin_setting(Feature.ARCHIVE) == AdminSetting(True, locked=False)
    assert policy.effective(Feature.ARCHIVE) is True
    assert policy.explain(Feature.CLIENT_LOG) == "administrator (locked)"
    assert policy.admin_setting(Feature.HISTORY) is None
    assert to_header(policy) == "client-log=on;locked, archive=on"


def test_from_mapping_empty_table_is_all_defaults() -> None:
    policy = from_mapping({})
    assert {f: policy.effective(f) for f in Feature} == DOCUMENTED_DEFAULTS


def test_from_mapping_value_without_lock() -> None:
    policy = from_mapping({"history": {"value": False}})
    assert policy.admin_setting(Feature.HISTORY) == AdminSetting(False, locked=False)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"telemetry": True}, "unknown feature 'telemetry'"),
        ({"Archive": True}, "unknown feature 'Archive'"),
        ({"archive": 1}, "archive: expected true, false"),
        ({"archive": "on"}, "archive: expected true, false"),
        ({"archive": None}, "archive: expected true, false"),
        ({"archive": [True]}, "archive: expected true, false"),
        ({"archive": {}}, "archive: missing 'value'"),
        ({"archive": {"locked": True}}, "archive: missing 'value'"),
        ({"archive": {"value": 1}}, "'value' must be true or false"),
        ({"archive": {"value": True, "locked": "yes"}}, "'locked' must be true or false"),
        ({"archive": {"value": True, "lock": True}}, "unknown keys lock"),
        ({1: True}, "is not a string"),
    ],
)
def test_from_mapping_rejects_bad_tables(table: Any, message: str) -> None:
    with pytest.raises(SIPUsageError, match=message) as info:
        from_mapping(table)
    assert "[policy.features]" in str(info.value)


def test_from_mapping_rejects_non_tables() -> None:
    with pytest.raises(SIPUsageError, match="must be a table"):
        from_mapping([("archive", True)])  # type: ignore[arg-type]


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["value", "locked", "x"]), children, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.dictionaries(
        st.sampled_from([f.value for f in Feature]) | st.text(max_size=8), toml_values, max_size=5
    )
)
def test_from_mapping_raises_only_usage_errors(table: dict[str, Any]) -> None:
    try:
        policy = from_mapping(table)
    except SIPUsageError:
        return
    for name, entry in table.items():
        setting = policy.admin_setting(name)
        if isinstance(entry, bool):
            assert setting == AdminSetting(entry)
        else:
            assert setting == AdminSetting(entry["value"], entry.get("locked", False))
