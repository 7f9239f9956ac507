"""The chat client: what each command does with a signed-in
:class:`~sipstack.ua.Peer`, and the status lines it shows for the peer's
events.

Commands run one at a time, in the order typed.  Two kinds of work do not
hold up the next command: instant messages go through an outbox that one
task sends in order (so a slow or failing delivery reports itself later
instead of freezing the prompt), and an outgoing call rings in a task of
its own (so ``/hangup`` can cancel it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..errors import SIPParseError
from ..message import SipURI
from ..message._uri import parse_uri
from ..policy import Feature, PolicyRefused
from ..presence import AccessLevel, Availability, Presence, aor_key
from ..ua import (
    AuthenticationFailed,
    Call,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    Conversation,
    ConversationEnded,
    Event,
    IncomingCall,
    MessageReceived,
    ParticipantJoined,
    ParticipantLeft,
    Peer,
    PresenceChanged,
    Registered,
    RegistrationFailed,
    RequestFailed,
    Subscription,
    SubscriptionEnded,
)
from ._terminal import COMMANDS, LEVELS, STATUSES, Screen, clean

__all__ = ["ChatClient", "explain"]

log = logging.getLogger("sipstack.chat")

_STATUS = {
    "available": Availability.AVAILABLE,
    "away": Availability.AWAY,
    "busy": Availability.BUSY,
    "dnd": Availability.DO_NOT_DISTURB,
    "do-not-disturb": Availability.DO_NOT_DISTURB,
    "offline": Availability.OFFLINE,
}
_TEXT_TYPES = ("text/plain", "text/html")
# Messages waiting to be sent; typing (or a script) waits beyond this.
MAX_OUTBOX = 100


class _Problem(Exception):
    """Something the user asked for that cannot be done; the text says why
    in plain words."""


def _status_words(status: int, reason: str, name: str) -> str:
    """A final response status in plain words, about ``name``."""
    if status == 404:
        return f"there is no user {name}"
    if status == 480:
        return f"{name} is not signed in"
    if status in (486, 600):
        return f"{name} is busy"
    if status == 603:
        return f"{name} declined"
    if status == 408:
        return f"no answer from {name} in time"
    if status == 487:
        return "cancelled"
    if status == 403:
        return f"the server refused it ({reason})"
    if status == 503:
        return f"cannot get through right now ({reason})"
    return f"{status} {reason}"


def explain(exc: BaseException, name: str = "the other side") -> str:
    """What went wrong, in plain words (never a traceback)."""
    if isinstance(exc, AuthenticationFailed):
        return "the server refused your user name or password"
    if isinstance(exc, RequestFailed):
        return _status_words(exc.status, clean(exc.reason), name)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        return f"network error: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A message waiting in the outbox: to a contact or a conversation."""

    text: str
    to: str | None = None
    conversation: Conversation | None = None


class ChatClient:
    """The commands of ``sipstack chat`` for a signed-in ``peer``, writing
    to ``screen``.  :meth:`start` after sign-in, :meth:`handle` for each
    line, :meth:`finish` at the end of input, :meth:`close` last."""

    def __init__(self, peer: Peer, screen: Screen, *, server: str = "") -> None:
        self.peer = peer
        self.screen = screen
        self.server = server
        self.me = aor_key(str(peer.aor))
        self.domain = peer.aor.host.lower()
        #: Where a plain line goes when no conversation is joined.
        self.target: str | None = None
        self.conversation: Conversation | None = None
        #: The call in progress (answered), the outgoing one ringing, and
        #: the incoming ones waiting for /answer.
        self.call: Call | None = None
        self.dialing: asyncio.Task[None] | None = None
        self.ringing: list[Call] = []
        self.watched: dict[str, Subscription] = {}
        self.availability = Availability.AVAILABLE
        self.note: str | None = None
        # Contacts (watched or talked with) for tab completion: a tuple,
        # replaced whole, because the reader thread reads it.
        self.contact_names: tuple[str, ...] = ()
        self._contacts: set[str] = set()
        self._seen: dict[str, tuple[Availability, str | None]] = {}
        self._signed_out = False
        self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue(MAX_OUTBOX)
        self._sender: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None
        # "/msg" is done by _cmd_msg, and so on: the table in _terminal
        # (for /help and completion) and the methods cannot drift apart.
        self._commands: dict[str, Callable[[str], Awaitable[bool | None]]] = {
            name: getattr(self, f"_cmd_{name[1:]}") for name, _, _ in COMMANDS
        }

    # -- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Show this user as available, start showing events and sending
        messages, and say so."""
        problem = None
        try:
            await self._publish(self.availability, self.note)
        except Exception as exc:
            problem = explain(exc)
        self._pump = asyncio.ensure_future(self._show_events())
        self._sender = asyncio.ensure_future(self._send_messages())
        via = f" via {self.server}" if self.server else ""
        self.say(
            f"signed in as {self.peer.aor}{via} ({self.peer.transport.lower()}); "
            "/help lists the commands"
        )
        if problem is not None:
            self.error(f"your presence was not published: {problem}")

    async def finish(self, timeout: float) -> None:
        """Let the messages still in the outbox go (at most ``timeout``
        seconds), and a call still ringing out be cancelled."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """Sign out: end calls and the conversation, unpublish, unregister."""
        for task in (self.dialing, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.peer.close(timeout)
        if self._pump is not None:
            # The peer's event stream ends once it is closed.
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(self._pump, timeout)

    # -- output ---------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """A status line."""
        self.screen.line(text)

    def error(self, text: str) -> None:
        """An error line, in plain words."""
        self.screen.line(f"error: {text}")

    @property
    def prompt(self) -> str:
        """The prompt: where a plain line would go."""
        if self.conversation is not None:
            return f"{self.name(self.conversation.uri)}> "
        if self.target is not None:
            return f"{self.name(self.target)}> "
        return "> "

    # -- names ------------------------------------------------------------------------------------
    def resolve(self, text: str) -> str:
        """A contact as typed (``bob``, ``bob@example.com``, a SIP URI) as
        an address of record."""
        text = text.strip()
        if not text:
            raise _Problem("name a contact")
        uri = text if text.startswith(("sip:", "sips:")) else f"sip:{text}"
        if "@" not in uri:
            uri = f"{uri}@{self.domain}"
        try:
            parsed = parse_uri(uri)
        except SIPParseError:
            parsed = None
        if not isinstance(parsed, SipURI) or not parsed.user:
            raise _Problem(f"{text!r} is not a contact (write bob, bob@example.com or sip:bob@…)")
        return aor_key(uri)

    def name(self, uri: str) -> str:
        """How a contact is shown: the user name alone in this user's own
        domain, ``user@domain`` otherwise."""
        key = aor_key(uri)
        try:
            parsed = parse_uri(key)
        except SIPParseError:
            return clean(uri)
        if isinstance(parsed, SipURI) and parsed.user:
            host = parsed.host.lower()
            return clean(parsed.user if host == self.domain else f"{parsed.user}@{host}")
        return clean(key)

    def _remember(self, uri: str) -> None:
        key = aor_key(uri)
        if key != self.me and key not in self._contacts:
            self._contacts.add(key)
            self.contact_names = tuple(sorted(self.name(c) for c in self._contacts))

    # -- commands ---------------------------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """Act on one line; True when the user asked to quit."""
        line = line.strip()
        if not line:
            return False
        if not line.startswith("/") or line.startswith("//"):
            # "//text" says "/text" without it being a command.
            await self._say_plain(line[1:] if line.startswith("//") else line)
            return False
        command, _, rest = line.partition(" ")
        action = self._commands.get(command.lower())
        if action is None:
            self.error(f"unknown command {command} (/help lists the commands)")
            return False
        try:
            return bool(await action(rest.strip()))
        except _Problem as exc:
            self.error(str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The promise is plain words, never a traceback; the details
            # go to the log for whoever runs with --verbose.
            log.debug("%s failed", command, exc_info=True)
            self.error(f"{command[1:]} failed: {explain(exc)}")
        return False

    async def _say_plain(self, text: str) -> None:
        if self.conversation is not None:
            await self._outbox.put(_Outgoing(text, conversation=self.conversation))
        elif self.target is not None:
            await self._outbox.put(_Outgoing(text, to=self.target))
        else:
            self.error("no one to talk to yet: /msg <contact> <text> or /join <conversation>")

    async def _cmd_msg(self, args: str) -> None:
        who, _, text = args.partition(" ")
        uri = self.resolve(who)
        if uri == self.me:
            raise _Problem("that is you")
        self.target = uri
        self._remember(uri)
        if text.strip():
            await self._outbox.put(_Outgoing(text.strip(), to=uri))
        elif self.conversation is None:
            self.say(f"* talking to {self.name(uri)}: plain lines go there")
        else:
            self.say(f"* /msg {self.name(uri)} <text> to write there: plain lines go to "
                     f"{self.name(self.conversation.uri)} until you /leave")  # fmt: skip

    async def _send_messages(self) -> None:
        while True:
            item = await self._outbox.get()
            try:
                if item.conversation is not None:
                    await item.conversation.send(item.text)
                elif item.to is not None:
                    await self.peer.message(item.to, item.text)
            except Exception as exc:
                where = item.to or (item.conversation.uri if item.conversation else "")
                name = self.name(where)
                self.error(f"not delivered to {name}: {explain(exc, name)}")
            finally:
                self._outbox.task_done()

    async def _publish(self, availability: Availability, note: str | None) -> None:
        document = Presence(str(self.peer.aor), availability, note=note)
        await self.peer.presence.publish(document)
        self.availability, self.note = availability, document.note

    async def _cmd_status(self, args: str) -> None:
        value = _STATUS.get(args.lower())
        if value is None:
            raise _Problem(f"/status takes one of {', '.join(STATUSES)}")
        await self._publish(value, self.note)
        if value is Availability.OFFLINE:
            self.say("* you appear offline (still signed in)")
        else:
            self.say(f"* you are {_availability(value)}")

    async def _cmd_note(self, args: str) -> None:
        await self._publish(self.availability, args or None)
        self.say(f"* note: {self.note}" if self.note else "* note cleared")

    async def _cmd_watch(self, args: str) -> None:
        uri = self.resolve(args)
        if uri == self.me:
            raise _Problem("that is you")
        name = self.name(uri)
        if uri in self.watched:
            raise _Problem(f"already watching {name}")
        try:
            sub = await self.peer.presence.watch(uri)
        except RequestFailed as exc:
            raise _Problem(f"cannot watch {name}: {explain(exc, name)}") from None
        self.watched[uri] = sub
        self._remember(uri)
        self.say(f"* watching {name}")

    async def _cmd_access(self, args: str) -> None:
        who, _, level_text = args.partition(" ")
        level_name = level_text.strip().upper()
        if not who or level_name not in AccessLevel.__members__:
            raise _Problem(f"/access takes a contact and one of {', '.join(LEVELS)}")
        uri = self.resolve(who)
        level = AccessLevel[level_name]
        await self.peer.presence.set_access(uri, level)
        self._remember(uri)
        name = self.name(uri)
        if level is AccessLevel.BLOCKED:
            self.say(f"* {name} is blocked: they see you as offline")
        else:
            self.say(f"* {name} sees your presence at level {level.name.lower()}")

    async def _cmd_call(self, args: str) -> None:
        uri = self.resolve(args)
        if uri == self.me:
            raise _Problem("that is you")
        if self.call is not None or self.dialing is not None:
            raise _Problem(f"you are in a call with {self._other()}: /hangup first")
        self._remember(uri)
        self.target = uri
        self.say(f"* calling {self.name(uri)}… (/hangup to cancel)")
        self.dialing = asyncio.ensure_future(self._dial(uri))

    async def _dial(self, uri: str) -> None:
        name = self.name(uri)
        try:
            call = await self.peer.call(uri)
        except CallFailed:
            pass  # its CallEnded event has said why
        except Exception as exc:
            self.error(f"cannot call {name}: {explain(exc, name)}")
        else:
            if self.call is None and not call.ended.is_set():
                self.call = call
        finally:
            if self.dialing is asyncio.current_task():
                self.dialing = None

    def _other(self) -> str:
        if self.call is not None:
            return self.name(self.call.remote)
        return self.name(self.target) if self.target else "someone"

    async def _cmd_answer(self, args: str) -> None:
        if not self.ringing:
            raise _Problem("no call is ringing")
        if self.call is not None or self.dialing is not None:
            raise _Problem(f"you are in a call with {self._other()}: /hangup first")
        call = self.ringing.pop(0)
        await call.accept(wait_ack=None)
        self.call = call
        self.target = aor_key(call.remote)

    async def _cmd_hangup(self, args: str) -> None:
        if self.call is not None:
            call, self.call = self.call, None
            await call.hangup()
        elif self.dialing is not None:
            task, self.dialing = self.dialing, None
            # Cancelling the INVITE's task sends CANCEL; its CallEnded event
            # reports the outcome.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif self.ringing:
            call = self.ringing.pop(0)
            await call.reject(603)
        else:
            raise _Problem("there is no call to hang up")

    async def _cmd_join(self, args: str) -> None:
        uri = self.resolve(args)
        if self.conversation is not None:
            raise _Problem(f"you are in {self.name(self.conversation.uri)}: /leave first")
        name = self.name(uri)
        try:
            conversation = await self.peer.join(uri)
        except RequestFailed as exc:
            raise _Problem(f"cannot join {name}: {explain(exc, name)}") from None
        self.conversation = conversation
        self.say(f"* you joined {name}: plain lines go to the conversation (/leave to leave)")

    async def _cmd_leave(self, args: str) -> None:
        conversation = self.conversation
        if conversation is None:
            raise _Problem("you are in no conversation")
        self.conversation = None
        await conversation.leave()
        self.say(f"* you left {self.name(conversation.uri)}")

    async def _cmd_history(self, args: str) -> None:
        policy = self.peer.policy
        if args.lower() in ("on", "off"):
            try:
                policy.set_user(Feature.HISTORY, args.lower() == "on")
            except PolicyRefused:
                raise _Problem("your administrator has locked conversation history") from None
            if not policy.effective(Feature.HISTORY):
                self.say("* conversation history off: new messages are not saved")
            elif self.peer.data_dir is None:
                self.say("* conversation history on, kept until you quit "
                         "(start with --data-dir to keep it)")  # fmt: skip
            else:
                where = self.peer.data_dir / "sipstack.db"
                self.say(f"* conversation history on, saved in {where}; "
                         "the people you write to are told")  # fmt: skip
            return
        if args:
            uri = self.resolve(args)
        elif self.conversation is not None:
            uri = self.conversation.uri
        elif self.target is not None:
            uri = self.target
        else:
            raise _Problem("/history <contact>: whose messages?")
        name = self.name(uri)
        entries = await self.peer.history(uri)
        if not entries:
            if policy.effective(Feature.HISTORY):
                self.say(f"* no saved messages with {name}")
            else:
                self.say("* conversation history is off: /history on keeps messages from now on")
            return
        self.say(f"* saved messages with {name}:")
        for entry in entries:
            when = _dt.datetime.fromtimestamp(entry.time).strftime("%Y-%m-%d %H:%M")
            who = "you" if entry.direction == "out" else name
            text = _text_of(entry.content_type, entry.body)
            self.say(_indent(f"  {when} {who}: {text}"))

    async def _cmd_log(self, args: str) -> None:
        policy = self.peer.policy
        data_dir = self.peer.data_dir
        if args.lower() in ("on", "off"):
            on = args.lower() == "on"
            if on and data_dir is None:
                raise _Problem("the client SIP log needs a place to live: start with --data-dir")
            try:
                policy.set_user(Feature.CLIENT_LOG, on)
            except PolicyRefused:
                raise _Problem("your administrator has locked the client SIP log") from None
        elif args:
            raise _Problem("/log takes on or off")
        on = policy.effective(Feature.CLIENT_LOG)
        source = policy.explain(Feature.CLIENT_LOG)
        where = f", written to {data_dir / 'sip.log'}" if on and data_dir is not None else ""
        self.say(f"* client SIP log {'on' if on else 'off'} ({source}){where}; "
                 "it records headers, never message text")  # fmt: skip

    async def _cmd_help(self, args: str) -> None:
        width = max(len(f"{name} {usage}".strip()) for name, usage, _ in COMMANDS)
        for name, usage, text in COMMANDS:
            self.say(f"  {f'{name} {usage}'.strip():<{width}}  {text}")
        self.say("  a plain line goes to the conversation you joined, else to the last")
        self.say("  contact you talked with; start it with // to send a leading /")

    async def _cmd_quit(self, args: str) -> bool:
        return True

    # -- events --------------------------------------------------------------------------------------
    async def _show_events(self) -> None:
        async for event in self.peer.events():
            try:
                self.show(event)
            except Exception as exc:
                log.debug("cannot show %r", event, exc_info=True)
                self.error(f"could not show an event: {exc}")

    def show(self, event: Event) -> None:
        """The status line (if any) for one of the peer's events."""
        match event:
            case MessageReceived():
                self._show_message(event)
            case IncomingCall(call=call):
                self.ringing.append(call)
                self._remember(call.remote)
                self.say(f"* {self.name(call.remote)} is calling: /answer or /hangup")
            case CallProgress(call=call, status=180):
                self.say(f"* ringing {self.name(call.remote)}…")
            case CallAnswered(call=call):
                self.call = call
                way = "to" if call.outgoing else "from"
                self.say(f"* call {way} {self.name(call.remote)} answered (/hangup to end it)")
            case CallEnded():
                self._show_call_ended(event)
            case ParticipantJoined(conversation=conv, participant=who):
                if aor_key(who.entity) != self.me:
                    self._remember(who.entity)
                    self.say(f"* {self.name(who.entity)} joined {self.name(conv.uri)}")
            case ParticipantLeft(conversation=conv, participant=who):
                if aor_key(who.entity) != self.me:
                    self.say(f"* {self.name(who.entity)} left {self.name(conv.uri)}")
            case ConversationEnded(conversation=conv, reason=reason, by_remote=True):
                if self.conversation is conv:
                    self.conversation = None
                self.say(f"* you are no longer in {self.name(conv.uri)} ({clean(reason)})")
            case PresenceChanged(uri=uri, presence=doc):
                key = aor_key(uri)
                now = (doc.availability, doc.note)
                if self._seen.get(key) != now:
                    self._seen[key] = now
                    note = f' — "{clean(doc.note)}"' if doc.note else ""
                    self.say(f"* {self.name(uri)} is {_availability(doc.availability)}{note}")
            case SubscriptionEnded(subscription=sub, reason=reason):
                key = aor_key(sub.target)
                if sub.event == "presence" and self.watched.get(key) is sub:
                    del self.watched[key]
                    if reason != "unsubscribed":
                        self.say(f"* stopped watching {self.name(key)} ({clean(reason)})")
            case RegistrationFailed(status=status, reason=reason, retry_in=retry):
                self._signed_out = True
                self.error(
                    f"signed out: the server refused to renew the sign-in "
                    f"({status} {clean(reason)}); trying again in {retry:.0f} s"
                )
            case Registered():
                if self._signed_out:
                    self._signed_out = False
                    self.say("* signed in again")
            case _:
                pass  # typing indications, re-INVITEs, INFO …: nothing to show

    def _show_message(self, event: MessageReceived) -> None:
        text = _text_of(event.content_type, event.body)
        conv = event.conversation
        if conv is not None:
            self._remember(event.sender)
            self.say(_indent(f"[{self.name(conv.uri)}] {self.name(event.sender)}: {text}"))
            return
        sender = aor_key(event.sender)
        self._remember(sender)
        # "The last contact you talked with": someone who writes becomes it.
        self.target = sender
        self.say(_indent(f"{self.name(sender)}: {text}"))

    def _show_call_ended(self, event: CallEnded) -> None:
        call = event.call
        if self.call is call:
            self.call = None
        if call in self.ringing:
            self.ringing.remove(call)
        name = self.name(call.remote)
        reason = event.reason
        if reason == "bye":
            who = name if event.by_remote else "you"
            self.say(f"* call with {name} ended ({who} hung up)")
        elif reason == "cancelled":
            self.say(
                f"* missed call from {name}" if event.by_remote else f"* call to {name} cancelled"
            )
        elif reason == "rejected" and call.outgoing:
            why = _status_words(event.status or 0, "", name) if event.status else "rejected"
            self.say(f"* call to {name} failed: {why}")
        elif reason == "rejected":
            self.say(f"* you declined the call from {name}")
        elif reason == "failed" and not call.outgoing:
            self.say(f"* missed call from {name} (not answered)")
        elif reason == "closed":
            self.say(f"* call with {name} ended (signed out)")
        else:
            self.say(f"* call with {name} ended ({reason})")


def _availability(value: Availability) -> str:
    """What follows "bob is" for an availability."""
    return "not to be disturbed" if value is Availability.DO_NOT_DISTURB else value.value


def _text_of(content_type: str, body: bytes) -> str:
    """A message body as text to show: text as it is, anything else by its
    type and size."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _TEXT_TYPES or not mime:
        return clean(body.decode("utf-8", "replace"))
    return f"[{clean(mime)}, {len(body)} bytes]"


def _indent(text: str) -> str:
    """Continuation lines of a multi-line message, indented under it."""
    return text.replace("\n", "\n    ")
