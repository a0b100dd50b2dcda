"""`fmcsa-tui serve` without a browser: what it refuses and what it warns about."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.browser.conftest import ServeStarter
from tests.support.cli import Cli, assert_one_line_error


def test_a_port_in_use_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = Cli(env, f"sqlite:///{tmp_path / 'x.db'}")("serve", "--port", str(port))
    assert_one_line_error(result, f"cannot serve on 127.0.0.1:{port}", "in use")


def test_a_bad_host_or_port_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    cli = Cli(env, f"sqlite:///{tmp_path / 'x.db'}")
    assert_one_line_error(cli("serve", "--host", "no such host", "--port", "0"), "no such host")
    assert_one_line_error(cli("serve", "--port", "70000"), "--port")


def test_beyond_loopback_it_warns_in_one_line(serving: ServeStarter) -> None:
    served = serving("--read-only", serve_args=("--host", "0.0.0.0"))
    code, err = served.stop()
    assert code == 130
    warning, interrupted = [line for line in err.splitlines() if line]  # click adds a blank
    assert warning.startswith("fmcsa-tui: warning: serving on 0.0.0.0 gives anyone")
    assert "(read-only)" in warning
    assert interrupted == "fmcsa-tui: interrupted"


def test_on_loopback_other_sites_cannot_reach_it(serving: ServeStarter, tmp_path: Path) -> None:
    served = serving("--store", f"sqlite:///{tmp_path / 'x.db'}")
    page = httpx.get(served.url)
    assert page.status_code == 200
    assert "https://" not in page.text  # nothing from the internet (fonts, scripts)
    assert "ws://127.0.0.1" in page.text
    # DNS rebinding: another site's name resolving to 127.0.0.1
    assert httpx.get(served.url, headers={"Host": "evil.example"}).status_code == 403
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    # a page elsewhere opening a websocket to the dashboard (cross-site websocket)
    foreign = httpx.get(f"{served.url}ws", headers={**upgrade, "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    code, err = served.stop()
    assert code == 130, err


def test_demo_seeds_its_store_once_before_serving(
    serving: ServeStarter, env: dict[str, str]
) -> None:
    served = serving(serve_args=("--demo",))
    assert "fmcsa-tui demo" in httpx.get(served.url).text
    demo_store = Path(env["XDG_DATA_HOME"]) / "fmcsa-tui" / "demo.db"
    assert len(Cli(env, f"sqlite:///{demo_store}").status()) == 200
    served.stop()
