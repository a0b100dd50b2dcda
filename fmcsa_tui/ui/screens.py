"""Modal screens: a yes/no confirmation and the key help."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from fmcsa_tui.formatting import safe_line


class ConfirmScreen(ModalScreen[bool]):
    """Ask before something big (a bulk resync, quitting with runs in progress).

    With `typed`, `y` is not enough: the operator types that count (thousands commas
    allowed) and presses enter, so a stray key never starts a fleet-wide run; anything
    else, or escape, cancels and says so in one line."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmScreen Label { width: 100%; margin-bottom: 1; }
    ConfirmScreen Horizontal { height: auto; align: right middle; }
    ConfirmScreen Button { margin-left: 2; }
    ConfirmScreen Input { margin-bottom: 1; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str = "Yes", *, typed: int | None = None) -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.typed = typed

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question))
            if self.typed is not None:
                yield Label(Text(f"Type {self.typed:,} and press enter to go ahead."))
                yield Input(placeholder=f"{self.typed:,}", max_length=20, id="count")
            with Horizontal():
                if self.typed is None:
                    yield Button(f"{self.yes} (y)", variant="warning", id="yes")
                yield Button("No (n)" if self.typed is None else "Cancel (esc)", id="no")

    def on_mount(self) -> None:
        if self.typed is None:
            self.query_one("#no", Button).focus()
        else:
            self.query_one("#count", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        answer = event.value.strip().replace(",", "")
        if answer == str(self.typed):
            self.dismiss(True)
        else:
            shown = safe_line(event.value.strip()) or "nothing"
            self._cancel(f"Cancelled: {shown} is not {self.typed:,}; nothing started.")

    def action_answer(self, answer: bool) -> None:
        if self.typed is None:
            self.dismiss(answer)
        elif not answer:  # `y` is no answer here: only the typed count is
            self._cancel("Cancelled; nothing started.")

    def _cancel(self, why: str) -> None:
        self.app.notify(why, severity="warning")
        self.dismiss(False)


class HelpScreen(ModalScreen[None]):
    """Every key, generated from the bindings themselves so it cannot go stale."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80; max-width: 100%; height: auto; max-height: 90%;
        padding: 1 2; border: thick $primary; background: $surface;
    }
    """

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close", id="help.close")]

    def __init__(
        self, sections: list[tuple[str, list[tuple[str, str, str]]]], *, read_only: bool = False
    ) -> None:
        super().__init__()
        self.sections = sections
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2), expand=True)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("What it does")
        table.add_column("Writes to", style="yellow", no_wrap=True)
        for title, rows in self.sections:
            table.add_row(Text(title, style="bold underline"), "", "")
            for key, description, scope in rows:
                table.add_row(key, description, scope)
            table.add_row("", "", "")
        with VerticalScroll():
            yield Static(Text("fmcsa-tui keys", style="bold"))
            if self.read_only:
                yield Static(
                    Text(
                        "READ-ONLY (--read-only): browsing only; resync and cancel are off"
                        " and the store refuses every write.",
                        style="bold",
                    )
                )
            yield Static(table)
            yield Static(Text("Every action is also in the command palette (ctrl+p).", "dim"))
