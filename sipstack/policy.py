"""Feature policy: who decides whether each switchable feature is on, sans-I/O.

Model
    Every switchable feature of the product (client SIP logging, server
    archiving, call log, conversation history, usage statistics, presence,
    automatic updates) is a :class:`Feature` with one row in
    :data:`FEATURES`: its default, whether a user may ever set it, and what it
    is.  A :class:`Policy` holds, per feature, an optional administrator value
    (optionally *locked*) and an optional user value.

Precedence
    :meth:`Policy.effective` is the only way code asks whether a feature is
    on.  It answers, in order:

    1. the user value, if the user set one, the feature lets users set it and
       the administrator has not locked it;
    2. otherwise the administrator value, if the administrator set one;
    3. otherwise the feature's default.

    :meth:`Policy.explain` names the source that won (``"user"``,
    ``"administrator"``, ``"administrator (locked)"`` or ``"default"``).

Refusals
    :meth:`Policy.set_user` raises :class:`PolicyLocked` for a feature the
    administrator locked and :class:`PolicyRefused` for a feature no user may
    ever set (server archiving: only an administrator can turn it on).  Both
    are :class:`~sipstack.errors.SIPUsageError`: the local program asked for
    something the policy does not allow.  A refused call changes nothing.

Distribution
    The administrator part comes from the server configuration
    (:func:`from_mapping`, for the ``[policy.features]`` table) and travels to
    clients in-band as a compact header value (:func:`to_header`, e.g.
    ``client-log=on;locked, archive=off``) that clients read with
    :func:`apply_header`.  That value comes off the wire, so parsing it is
    bounded and raises nothing but :class:`PolicyHeaderError` (a
    :class:`~sipstack.errors.SIPParseError`, status 400) for any text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from .errors import SIPParseError, SIPUsageError

__all__ = [
    "FEATURES",
    "HISTORY_HEADER",
    "MAX_HEADER_ITEMS",
    "MAX_HEADER_LENGTH",
    "POLICY_HEADER",
    "AdminSetting",
    "Feature",
    "FeatureSpec",
    "Policy",
    "PolicyHeaderError",
    "PolicyLocked",
    "PolicyRefused",
    "apply_header",
    "from_mapping",
    "to_header",
]


#: The header that carries the administrator's settings to clients (in the
#: 200 to REGISTER), in the form :func:`to_header` writes.
POLICY_HEADER = "Sipstack-Policy"

#: A MESSAGE carrying this header (value ``saved``) comes from someone who
#: keeps a history of the conversation (the ``history`` feature); a
#: conversation's focus passes it on with the message.
HISTORY_HEADER = "Sipstack-History"


class Feature(StrEnum):
    """A switchable feature; the value is its name in configuration and on the wire."""

    CLIENT_LOG = "client-log"
    ARCHIVE = "archive"
    CALL_LOG = "call-log"
    HISTORY = "history"
    STATISTICS = "statistics"
    PRESENCE = "presence"
    UPDATES = "updates"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """The fixed facts about one feature.

    ``default``
        Whether the feature is on when neither administrator nor user chose.
    ``user_may_set``
        Whether a user may ever set it (an administrator lock still wins).
    ``description``
        A short human-readable name, used in error messages.
    """

    default: bool
    user_may_set: bool
    description: str


FEATURES: Final[Mapping[Feature, FeatureSpec]] = MappingProxyType(
    {
        Feature.CLIENT_LOG: FeatureSpec(
            default=False,
            user_may_set=True,
            description="client SIP logging",
        ),
        Feature.ARCHIVE: FeatureSpec(
            default=False,
            user_may_set=False,
            description="server archiving",
        ),
        Feature.CALL_LOG: FeatureSpec(
            default=True,
            user_may_set=True,
            description="call log",
        ),
        Feature.HISTORY: FeatureSpec(
            default=False,
            user_may_set=True,
            description="conversation history",
        ),
        Feature.STATISTICS: FeatureSpec(
            default=False,
            user_may_set=True,
            description="usage statistics",
        ),
        Feature.PRESENCE: FeatureSpec(
            default=True,
            user_may_set=True,
            description="presence",
        ),
        # The product table gives no default for updates; the modelled client
        # sends nothing until "you or your administrator" enable it, so off.
        Feature.UPDATES: FeatureSpec(
            default=False,
            user_may_set=True,
            description="automatic updates",
        ),
    }
)
"""The one table of switchable features: :class:`Feature` → :class:`FeatureSpec`."""

MAX_HEADER_LENGTH: Final = 2048
"""Longest policy header value :func:`apply_header` reads, in characters."""

MAX_HEADER_ITEMS: Final = 64
"""Most comma-separated items :func:`apply_header` reads."""


class PolicyRefused(SIPUsageError):
    """A user change the policy does not allow; ``feature`` names the feature."""

    def __init__(self, feature: Feature, message: str) -> None:
        super().__init__(message)
        self.feature = feature


class PolicyLocked(PolicyRefused):
    """A user change to a feature the administrator locked."""

    def __init__(self, feature: Feature) -> None:
        super().__init__(
            feature,
            f"cannot change {feature.value} ({FEATURES[feature].description}): "
            "the administrator locked it",
        )


class PolicyHeaderError(SIPParseError):
    """A policy header value received from a peer is malformed (400)."""


@dataclass(frozen=True, slots=True)
class AdminSetting:
    """What the administrator decided for one feature."""

    value: bool
    locked: bool = False


_SOURCE_DEFAULT: Final = "default"
_SOURCE_ADMIN: Final = "administrator"
_SOURCE_LOCKED: Final = "administrator (locked)"
_SOURCE_USER: Final = "user"


def _feature(feature: Feature | str) -> Feature:
    if isinstance(feature, Feature):
        return feature
    try:
        return Feature(feature)
    except ValueError:
        known = ", ".join(f.value for f in Feature)
        raise SIPUsageError(f"unknown feature {feature!r} (known: {known})") from None


def _check_value(feature: Feature, value: object) -> None:
    # bool is checked exactly: 0/1 or "yes" from a config file are mistakes
    # worth reporting, not values to guess at.
    if value is not None and not isinstance(value, bool):
        raise SIPUsageError(f"value for {feature.value} must be True, False or None, not {value!r}")


class Policy:
    """The administrator and user choices for every :class:`Feature`.

    A fresh policy has every feature at its :data:`FEATURES` default.
    Features may be given as :class:`Feature` members or their names.
    """

    __slots__ = ("_admin", "_user")

    def __init__(self) -> None:
        """Create a policy with no administrator or user choices."""
        self._admin: dict[Feature, AdminSetting] = {}
        self._user: dict[Feature, bool] = {}

    def effective(self, feature: Feature | str) -> bool:
        """Whether ``feature`` is on: user, then administrator, then default."""
        feature = _feature(feature)
        admin = self._admin.get(feature)
        if (admin is None or not admin.locked) and FEATURES[feature].user_may_set:
            user = self._user.get(feature)
            if user is not None:
                return user
        if admin is not None:
            return admin.value
        return FEATURES[feature].default

    def explain(self, feature: Feature | str) -> str:
        """Which choice :meth:`effective` follows for ``feature``.

        One of ``"user"``, ``"administrator"``, ``"administrator (locked)"``
        and ``"default"``.
        """
        feature = _feature(feature)
        admin = self._admin.get(feature)
        if admin is not None and admin.locked:
            return _SOURCE_LOCKED
        if FEATURES[feature].user_may_set and feature in self._user:
            return _SOURCE_USER
        if admin is not None:
            return _SOURCE_ADMIN
        return _SOURCE_DEFAULT

    def set_admin(
        self, feature: Feature | str, value: bool | None, *, locked: bool = False
    ) -> None:
        """Set (or with ``None``, clear) the administrator value of ``feature``.

        ``locked=True`` also stops users changing it; a lock needs a value to
        hold the feature at.  User values are kept: if the administrator
        later unlocks or clears the feature, the user's choice applies again.
        """
        feature = _feature(feature)
        _check_value(feature, value)
        if not isinstance(locked, bool):
            raise SIPUsageError(f"locked for {feature.value} must be True or False")
        if value is None:
            if locked:
                raise SIPUsageError(f"cannot lock {feature.value} without a value to lock it at")
            self._admin.pop(feature, None)
        else:
            self._admin[feature] = AdminSetting(value, locked)

    def set_user(self, feature: Feature | str, value: bool | None) -> None:
        """Set (or with ``None``, clear) the user's own choice for ``feature``.

        Raises :class:`PolicyRefused` if no user may set the feature and
        :class:`PolicyLocked` if the administrator locked it; either way
        nothing changes.
        """
        feature = _feature(feature)
        _check_value(feature, value)
        spec = FEATURES[feature]
        if not spec.user_may_set:
            raise PolicyRefused(
                feature,
                f"cannot change {feature.value} ({spec.description}): "
                "only the administrator can set it",
            )
        admin = self._admin.get(feature)
        if admin is not None and admin.locked:
            raise PolicyLocked(feature)
        if value is None:
            self._user.pop(feature, None)
        else:
            self._user[feature] = value

    def admin_setting(self, feature: Feature | str) -> AdminSetting | None:
        """The administrator's setting for ``feature``, or ``None`` if unset."""
        return self._admin.get(_feature(feature))

    def user_value(self, feature: Feature | str) -> bool | None:
        """The user's own choice for ``feature``, or ``None`` if unset."""
        return self._user.get(_feature(feature))

    def user_may_change(self, feature: Feature | str) -> bool:
        """Whether :meth:`set_user` would accept a change to ``feature`` now."""
        feature = _feature(feature)
        admin = self._admin.get(feature)
        return FEATURES[feature].user_may_set and (admin is None or not admin.locked)

    def __repr__(self) -> str:
        on = [f.value for f in Feature if self.effective(f)]
        return f"<Policy on={on!r}>"


# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
# "+" / "`" / "'" / "~").  A single character class cannot backtrack.
_TOKEN: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# Anything outside visible ASCII plus SP/HTAB (CR, LF, NUL, non-ASCII) can
# never be part of a well-formed value, so it is refused before splitting.
_ALLOWED: Final = re.compile(r"[\x21-\x7e \t]*")
_LWS: Final = " \t"
_ON: Final = "on"
_OFF: Final = "off"
_LOCKED: Final = "locked"


def to_header(policy: Policy) -> str:
    """The administrator part of ``policy`` as a compact header value.

    Only features the administrator set appear, in :class:`Feature` order,
    e.g. ``client-log=on;locked, archive=off``; an empty string when the
    administrator set nothing.
    """
    items = []
    for feature in Feature:
        admin = policy.admin_setting(feature)
        if admin is not None:
            item = f"{feature.value}={_ON if admin.value else _OFF}"
            if admin.locked:
                item += ";" + _LOCKED
            items.append(item)
    return ", ".join(items)


def _token(text: str, what: str) -> str:
    text = text.strip(_LWS)
    if _TOKEN.fullmatch(text) is None:
        raise PolicyHeaderError(f"bad policy header: {what} {text!r} is not a token")
    return text.lower()


def _parse_item(item: str) -> tuple[str, str, bool]:
    head, *params = item.split(";")
    name, eq, value = head.partition("=")
    if not eq:
        raise PolicyHeaderError(f"bad policy header: item {item.strip(_LWS)!r} has no '='")
    name = _token(name, "feature name")
    value = _token(value, "value")
    locked = False
    for param in params:
        pname, peq, pvalue = param.partition("=")
        pname = _token(pname, "parameter")
        if peq:
            _token(pvalue, "parameter value")
        if pname == _LOCKED:
            if peq or locked:
                raise PolicyHeaderError(f"bad policy header: bad 'locked' in {name}")
            locked = True
        # Other well-formed parameters are extensions from a newer server:
        # ignored, as unknown features are, so old clients keep working.
    return name, value, locked


def apply_header(policy: Policy, value: str) -> None:
    """Replace the administrator part of ``policy`` with a pushed header value.

    The value is the whole administrator policy (as :func:`to_header` writes
    it): features it does not mention lose their administrator setting.
    Unknown feature names and unknown parameters are ignored; anything
    malformed raises :class:`PolicyHeaderError` and leaves ``policy``
    unchanged.  User values are kept.
    """
    if not isinstance(value, str):
        raise SIPUsageError(f"policy header value must be str, not {type(value).__name__}")
    if len(value) > MAX_HEADER_LENGTH:
        raise PolicyHeaderError(f"policy header longer than {MAX_HEADER_LENGTH} characters")
    if _ALLOWED.fullmatch(value) is None:
        raise PolicyHeaderError("policy header contains control or non-ASCII characters")
    if not value.strip(_LWS):
        items: list[str] = []
    else:
        items = value.split(",")
    if len(items) > MAX_HEADER_ITEMS:
        raise PolicyHeaderError(f"policy header has more than {MAX_HEADER_ITEMS} items")
    # Parse everything first and apply after, so a bad item changes nothing.
    settings: dict[Feature, AdminSetting] = {}
    seen: set[str] = set()
    for item in items:
        name, state, locked = _parse_item(item)
        if name in seen:
            raise PolicyHeaderError(f"bad policy header: {name} appears twice")
        seen.add(name)
        try:
            feature = Feature(name)
        except ValueError:
            continue
        if state not in (_ON, _OFF):
            raise PolicyHeaderError(f"bad policy header: {name}={state} is not on or off")
        settings[feature] = AdminSetting(state == _ON, locked)
    for feature in Feature:
        setting = settings.get(feature)
        if setting is None:
            policy.set_admin(feature, None)
        else:
            policy.set_admin(feature, setting.value, locked=setting.locked)


def from_mapping(table: Mapping[str, object]) -> Policy:
    """A policy holding the administrator settings of a configuration table.

    ``table`` is the server configuration's ``[policy.features]`` table:
    each key a feature name, each value either a bool or a table
    ``{"value": bool, "locked": bool}`` (``locked`` optional, default false),
    e.g. ``{"client-log": {"value": True, "locked": True}, "archive": True}``.
    Unknown names, unknown keys and wrong types raise
    :class:`~sipstack.errors.SIPUsageError` naming the offending entry.
    """
    if not isinstance(table, Mapping):
        raise SIPUsageError(f"[policy.features] must be a table, not {type(table).__name__}")
    policy = Policy()
    for name, entry in table.items():
        if not isinstance(name, str):
            raise SIPUsageError(f"[policy.features]: feature name {name!r} is not a string")
        try:
            feature = _feature(name)
        except SIPUsageError as exc:
            raise SIPUsageError(f"[policy.features]: {exc}") from None
        where = f"[policy.features] {name}"
        if isinstance(entry, bool):
            policy.set_admin(feature, entry)
            continue
        if not isinstance(entry, Mapping):
            raise SIPUsageError(
                f"{where}: expected true, false or {{ value = ..., locked = ... }}, not {entry!r}"
            )
        unknown = sorted(str(k) for k in entry if k not in ("value", "locked"))
        if unknown:
            raise SIPUsageError(
                f"{where}: unknown keys {', '.join(unknown)} (known: value, locked)"
            )
        if "value" not in entry:
            raise SIPUsageError(f"{where}: missing 'value'")
        value = entry["value"]
        locked = entry.get("locked", False)
        if not isinstance(value, bool):
            raise SIPUsageError(f"{where}: 'value' must be true or false, not {value!r}")
        if not isinstance(locked, bool):
            raise SIPUsageError(f"{where}: 'locked' must be true or false, not {locked!r}")
        policy.set_admin(feature, value, locked=locked)
    return policy
