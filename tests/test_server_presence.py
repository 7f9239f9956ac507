"""The presence server inside ``sipstack server`` (a real subprocess):
publications with entity tags merged per user, watchers at their access
levels set in-band, polite blocking, watcher info, and publications that
survive a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from peer_events import expect
from server_runner import RunningServer, server, sipstack

from sipstack.presence import AccessLevel, Availability, Meeting, Presence, decode
from sipstack.ua import Peer, PresenceChanged, Registered, RequestFailed, WatchersChanged

TIMEOUT = 10.0
USERS = {"alice": "a", "bob": "b", "carol": "c"}
WHEN = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def user(name: str, srv: RunningServer) -> Peer:
    return Peer(
        f"sip:{name}@localhost", password=USERS[name], register=True,
        registrar=srv.uri, proxy=f"{srv.uri};lr",
    )  # fmt: skip


def rich(**kw: object) -> Presence:
    base: dict[str, object] = {
        "availability": Availability.BUSY,
        "note": "Planning",
        "title": "Engineer",
        "mobile_phone": "+1 555 0101",
        "home_phone": "+1 555 0102",
        "meeting": Meeting(until=WHEN, subject="Roadmap"),
    }
    base.update(kw)
    return Presence("sip:alice@localhost", **base)  # type: ignore[arg-type]


async def test_watchers_see_what_their_level_allows(tmp_path: Path) -> None:
    async with (
        server(tmp_path, USERS) as srv,
        user("alice", srv) as alice,
        user("bob", srv) as bob,
    ):
        await expect(alice, Registered)
        await alice.presence.publish(rich())
        await bob.presence.watch("sip:alice@localhost")
        seen = (await expect(bob, PresenceChanged)).presence
        # Same domain: Company.
        assert seen.availability is Availability.BUSY and seen.note == "Planning"
        assert seen.title == "Engineer" and seen.mobile_phone is None
        assert seen.meeting is not None and seen.meeting.subject is None
        await alice.presence.set_access("sip:bob@localhost", AccessLevel.TEAM)
        team = (await expect(bob, PresenceChanged)).presence
        assert team.mobile_phone == "+1 555 0101" and team.home_phone is None
        assert team.meeting is not None and team.meeting.subject == "Roadmap"
        await alice.presence.publish(rich(availability=Availability.AVAILABLE, note="Free"))
        later = (await expect(bob, PresenceChanged)).presence
        assert later.availability is Availability.AVAILABLE and later.note == "Free"


async def test_a_blocked_watcher_learns_nothing_from_the_server(tmp_path: Path) -> None:
    async with (
        server(tmp_path, USERS) as srv,
        user("alice", srv) as alice,
        user("bob", srv) as bob,
        user("carol", srv) as carol,
    ):
        await alice.presence.set_access("sip:carol@localhost", AccessLevel.BLOCKED)
        await alice.presence.publish(rich())
        blocked = await carol.presence.watch("sip:alice@localhost")
        await expect(carol, PresenceChanged)
        # bob watches carol, who published nothing: the offline answer.
        nobody = await bob.presence.watch("sip:carol@localhost")
        await expect(bob, PresenceChanged)
        assert blocked.last is not None and nobody.last is not None
        assert blocked.status.value == nobody.status.value == "active"
        assert decode(blocked.last.body) == Presence("sip:alice@localhost")
        assert decode(nobody.last.body) == Presence("sip:carol@localhost")
        assert blocked.last.body.replace(b"alice", b"carol") == nobody.last.body
        await alice.presence.publish(rich(note="still secret"))
        again = await expect(carol, PresenceChanged)
        assert again.presence == Presence("sip:alice@localhost")


async def test_watcher_info_and_publishing_for_someone_else(tmp_path: Path) -> None:
    async with (
        server(tmp_path, USERS) as srv,
        user("alice", srv) as alice,
        user("bob", srv) as bob,
    ):
        await alice.presence.watch_watchers()
        await bob.presence.watch("sip:alice@localhost")
        changed = await expect(alice, WatchersChanged)
        while not changed.watchers:
            changed = await expect(alice, WatchersChanged)
        assert [w.uri for w in changed.watchers] == ["sip:bob@localhost"]
        try:
            await bob.presence.subscribe("sip:alice@localhost", "presence.winfo")
        except RequestFailed as exc:
            assert exc.status == 403
        else:
            raise AssertionError("bob saw alice's watchers")


async def test_two_devices_merge_and_publications_survive_a_restart(tmp_path: Path) -> None:
    async with server(tmp_path, USERS) as srv:
        async with user("alice", srv) as desk, user("alice", srv) as phone:
            await desk.presence.publish(Presence("sip:alice@localhost", Availability.AWAY))
            await phone.presence.publish(
                Presence("sip:alice@localhost", Availability.AVAILABLE, note="on my phone")
            )
            async with user("bob", srv) as bob:
                await bob.presence.watch("sip:alice@localhost")
                merged = (await expect(bob, PresenceChanged)).presence
                assert merged.availability is Availability.AVAILABLE
                assert merged.note == "on my phone"
            # Closing the peers removed their publications.
        port = srv.port
    async with server(tmp_path, {}) as srv2:
        assert srv2.port != 0 and port
        async with user("alice", srv2) as alice:
            await alice.presence.publish(Presence("sip:alice@localhost", Availability.BUSY))
            alice.presence._publish_task.cancel()  # type: ignore[union-attr]
            alice.presence._etag = None  # leave the publication on the server
        async with server(tmp_path, {}) as srv3, user("bob", srv3) as bob:
            await bob.presence.watch("sip:alice@localhost")
            kept = (await expect(bob, PresenceChanged)).presence
            assert kept.availability is Availability.BUSY


async def test_access_levels_set_from_the_command_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    done = sipstack("access", "set", "alice", "bob", "team", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert "sip:bob@localhost sees sip:alice@localhost at level team" in done.stdout
    bad = sipstack("access", "set", "alice", "bob", "friends", "--data-dir", data)
    assert bad.returncode == 2 and "blocked, public, company, team, personal" in bad.stderr
    listed = sipstack("access", "list", "alice", "--data-dir", data)
    assert listed.stdout.strip() == "sip:bob@localhost team"
    async with (
        server(tmp_path, USERS) as srv,
        user("alice", srv) as alice,
        user("bob", srv) as bob,
    ):
        await alice.presence.publish(rich())
        await bob.presence.watch("sip:alice@localhost")
        seen = (await expect(bob, PresenceChanged)).presence
        assert seen.mobile_phone == "+1 555 0101"  # Team sees the mobile number


async def test_a_level_set_from_the_command_line_reaches_a_running_server(tmp_path: Path) -> None:
    """``sipstack access set`` while the server runs: current subscriptions
    get what the new level allows without a restart."""
    async with (
        server(tmp_path, USERS) as srv,
        user("alice", srv) as alice,
        user("bob", srv) as bob,
    ):
        await alice.presence.publish(rich())
        await bob.presence.watch("sip:alice@localhost")
        seen = (await expect(bob, PresenceChanged)).presence
        assert seen.mobile_phone is None and seen.note  # company: no mobile number
        done = sipstack("access", "set", "alice", "bob", "team", "--data-dir", str(srv.data_dir))
        assert done.returncode == 0, done.stderr
        seen = (await expect(bob, PresenceChanged)).presence
        assert seen.mobile_phone == "+1 555 0101"
        done = sipstack("access", "set", "alice", "bob", "blocked", "--data-dir", str(srv.data_dir))
        assert done.returncode == 0, done.stderr
        seen = (await expect(bob, PresenceChanged)).presence
        assert seen.availability is Availability.OFFLINE and not seen.note
