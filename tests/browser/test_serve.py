"""`fmcsa-tui serve` in headless Chromium: the served page shows the carrier list and
keys typed in the page reach the dashboard, with no request leaving the served origin.

The page's terminal is xterm.js, drawn on a canvas (WebGL or 2D), so its text is not in
the DOM. The test reads xterm's own buffer (`buffer.active`, `translateToString`)
through `page.evaluate`. textual-serve's page keeps its `Terminal` in a local
variable; an init script (`TERMINAL_TRAP`) notes it as `window.fmcsaTerminal` when
textual.js assigns it (`this.terminal = new Terminal(...)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fmcsa_tui.store.seed import demo_documents
from tests.browser.conftest import ServeStarter
from tests.support.cli import Cli
from tests.support.waiting import eventually_blocking

CARRIERS = 30
LIMIT_MS = 60_000  # how long a page may take to show what is awaited (a loaded machine)

TERMINAL_TRAP = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    if (value && typeof value.loadAddon === "function") window.fmcsaTerminal = value;
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
  },
});
"""
SCREEN_TEXT = """() => {
  const terminal = window.fmcsaTerminal;
  if (!terminal) return "";
  const buffer = terminal.buffer.active;
  const lines = [];
  for (let row = 0; row < terminal.rows; row++) {
    const line = buffer.getLine(buffer.viewportY + row);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""


def _wait_for_screen(page: Any, *shows: str, hides: str | None = None) -> str:
    """The terminal's text once it shows every one of `shows` (and no longer `hides`)."""
    from playwright.sync_api import TimeoutError as PageTimeout

    condition = " && ".join(f"screen.includes({text!r})" for text in shows)
    if hides is not None:
        condition += f" && !screen.includes({hides!r})"
    try:
        page.wait_for_function(
            f"() => {{ const screen = ({SCREEN_TEXT})(); return {condition}; }}",
            timeout=LIMIT_MS,
            polling=50,
        )
    except PageTimeout:
        screen = page.evaluate(SCREEN_TEXT)
        raise AssertionError(f"the page never showed {shows!r}:\n{screen}") from None
    text: str = page.evaluate(SCREEN_TEXT)
    return text


def _unique_word(names: list[str]) -> tuple[str, int]:
    """A word of exactly one carrier's name, and that carrier's index."""
    for index, name in enumerate(names):
        for word in name.split():
            word = word.strip(".,").casefold()
            if len(word) >= 4 and sum(word in other.casefold() for other in names) == 1:
                return word, index
    raise AssertionError("no carrier name has a word of its own")


def _descendants(pid: int) -> set[int]:
    """Processes started under `pid` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found |= {child, *_descendants(child)}
    return found


def _running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return False


def test_served_dashboard_shows_carriers_and_takes_keys(
    chromium: Any, serving: ServeStarter, env: dict[str, str], tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'a fleet' / 'carriers of mine.db'}"  # spaces: quoted
    (tmp_path / "a fleet").mkdir()
    seeded = Cli(env, store)("seed-demo", "--companies", str(CARRIERS))
    assert seeded.returncode == 0, seeded.stderr
    documents = demo_documents(CARRIERS)
    names = [document["name"] for document in documents]
    word, index = _unique_word(names)
    other = (index + 1) % CARRIERS

    before = Cli(env, store).status()
    served = serving("--store", store)
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    elsewhere: list[str] = []

    def only_the_served_origin(route: Any) -> None:
        if route.request.url.startswith(served.url):
            route.continue_()
        else:  # this machine and CI have no internet: the page must not need it
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_served_origin)
    page.add_init_script(TERMINAL_TRAP)
    try:
        page.goto(served.url)
        # the list's first rows, and the highlighted carrier's whole name in the detail
        _wait_for_screen(
            page, str(documents[0]["dotNumber"]), str(documents[other]["dotNumber"]), names[0]
        )
        sessions = _descendants(served.process.pid)
        assert sessions, "no dashboard process for the page"

        page.locator(".xterm").click()
        page.keyboard.type(f"/{word}")
        # the search box holds every key typed, and the list only the carrier it names
        filtered = _wait_for_screen(
            page, word, names[index], hides=str(documents[other]["dotNumber"])
        )
        assert str(documents[index]["dotNumber"]) in filtered

        code, err = served.stop()  # Ctrl-C with the page still open
        assert code == 130, err
        assert [line for line in err.splitlines() if line] == ["fmcsa-tui: interrupted"]
        page.wait_for_selector("body.-closed", timeout=LIMIT_MS)  # "Session ended."
    finally:
        page.close()
    assert elsewhere == []
    eventually_blocking(lambda: not any(_running(pid) for pid in sessions))
    assert Cli(env, store).status() == before  # browsing and searching wrote nothing
