"""Self-check of the SIPp scenarios and runner: SIPp as client against SIPp as server.

If these fail, tests that use SIPp as a peer of sipstack cannot be trusted.
"""

from __future__ import annotations

import asyncio

import pytest
from sipp_runner import (
    SippResult,
    Transport,
    free_port,
    requires_sipp,
    run_sipp_uac,
    scenario,
    sipp_uas,
)

pytestmark = requires_sipp

CALLS = 5
TRANSPORTS: list[Transport] = ["udp", "tcp"]
# Every test is bounded well below this, even when SIPp misbehaves.
TEST_DEADLINE = 30.0


async def _uac_against_uas(method: str, transport: Transport) -> tuple[SippResult, SippResult]:
    async with sipp_uas(
        scenario(f"{method}_uas.xml"), transport=transport, calls=CALLS, timeout=20
    ) as uas:
        uac = await run_sipp_uac(
            scenario(f"{method}_uac.xml"),
            uas.host,
            uas.port,
            transport=transport,
            calls=CALLS,
            rate=50,
            timeout=10,
        )
    assert uas.result is not None
    return uac, uas.result


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", ["options", "message", "invite"])
async def test_sipp_uac_against_sipp_uas(method: str, transport: Transport) -> None:
    uac, uas = await asyncio.wait_for(_uac_against_uas(method, transport), TEST_DEADLINE)
    uac.assert_ok()
    uas.assert_ok()
    assert uac.successful == uas.successful == CALLS


async def test_uac_fails_when_nobody_answers() -> None:
    # A UDP port that was free a moment ago: nothing will answer there.
    port = free_port("udp")
    result = await asyncio.wait_for(
        run_sipp_uac(scenario("message_uac.xml"), "127.0.0.1", port, calls=1, timeout=2),
        TEST_DEADLINE,
    )
    assert result.failed >= 1 or result.returncode != 0, result.report()
    assert result.successful == 0
    with pytest.raises(AssertionError, match="SIPp run failed"):
        result.assert_ok()


def test_scenario_lookup() -> None:
    assert scenario("invite_uac.xml").is_file()
    with pytest.raises(FileNotFoundError):
        scenario("no_such_scenario.xml")
