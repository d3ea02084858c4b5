"""The results file: JSON lines, one record a line, appended as each record is known.

`append` writes one line, flushes and syncs it: O(1) per record, and a writer killed at
any moment leaves whole records, at worst followed by one cut-short line. `read` skips
such a torn last line and says so in `note`; a bad line anywhere else is an OutputError
naming the file and the line. The first `append` of a process repairs a torn last line,
so that the file stays valid JSON lines. `resume` keeps the records a suite need not run
again (by a key of the caller's), so that `done` tells what to skip.

What the records hold is the caller's business: a record lacking the keys a caller needs
(one written by hand or by another tool) is reported by that caller, except for the key
`resume` is given, which it reports itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from zoo import io
from zoo.errors import OutputError

# The statuses a resumed suite does not run again; failures run again.
FINISHED = ("ok", "skipped")


class ResultsFile:
    """One JSON-lines results file.

    Attributes:
        path: the file.
        note: what the last `read` or the repair before the first `append` left out (a
            torn last line), or None.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.note: str | None = None
        self._repaired = False
        self._done: set[Hashable] = set()
        self._key: Callable[[dict], Hashable] | None = None
        self._finished: tuple[str, ...] = FINISHED

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> list[dict[str, Any]]:
        """Every record of the file; a torn last line is skipped and named in `note`.

        Raises:
            OutputError: there is no file, or a line other than the last is not a JSON
                object.
        """
        if not self.path.is_file():
            raise OutputError(f"No results file at {self.path}.")
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise OutputError(f"Cannot read {self.path}: {e.strerror}.") from None
        records, self.note = _parse(self.path, text)
        return records

    def check_new(self, resume: bool) -> None:
        """Raises OutputError when the file exists and is not to be resumed."""
        check_output(self.path, resume)

    def resume(
        self,
        resume: bool,
        key: Callable[[dict], Hashable],
        finished: Iterable[str] = FINISHED,
    ) -> list[dict[str, Any]]:
        """Starts a suite's run: checks the file (`check_new`), creates its folder, and
        returns the records kept from an earlier run (those whose status is in
        `finished`); the file is rewritten once, atomically, where others (failures, a
        torn last line) are dropped. `done(key(record))` is then true for each kept one,
        and for each record appended later with a finished status.

        Raises:
            OutputError: as `check_new`, or an earlier record that has no `key`.
        """
        self.check_new(resume)
        self._key, self._finished = key, tuple(finished)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"Cannot create {self.path.parent}: {e.strerror}.") from None
        records = self.read() if self.exists() else []
        kept = [r for r in records if r.get("status") in self._finished]
        for n, record in enumerate(kept, 1):
            self._done.add(self._key_of(record, n))
        if len(kept) < len(records) or self.note:
            self._rewrite(kept)
        self._repaired = True
        return kept

    def _key_of(self, record: dict, n: int) -> Hashable:
        try:
            return self._key(record)
        except (KeyError, TypeError) as e:
            raise OutputError(
                f"{self.path}: record {n} is not one of this suite's (it has no {e}).",
                "Pass another --output.",
            ) from None

    def done(self, key: Hashable) -> bool:
        """Whether a record with this key is finished (see `resume`)."""
        return key in self._done

    def append(self, record: dict[str, Any]) -> None:
        """Appends one record as one line, flushed and synced to the disk.

        Raises:
            OutputError: the file cannot be written (the records before are intact).
        """
        line = json.dumps(io.to_jsonable(record), allow_nan=False) + "\n"
        try:
            if not self._repaired:
                self._repair()
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise OutputError(
                f"Writing {self.path} failed: {e.strerror or e}.",
                "Check free space and permissions; the records before are intact.",
            ) from None
        if self._key is not None and record.get("status") in self._finished:
            self._done.add(self._key(record))

    def _repair(self) -> None:
        """Ends the file with a newline before the first append: a cut-short last line is
        cut off, a whole one without its newline gets it."""
        self._repaired = True
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        if _record(data[cut:].decode("utf-8", errors="replace")) is not None:
            with open(self.path, "ab") as f:
                f.write(b"\n")
            return
        with open(self.path, "r+b") as f:
            f.truncate(cut)
        self.note = f"{self.path}: removed the cut-short last line {_line_no(data, cut)}."

    def _rewrite(self, records: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(io.to_jsonable(r), allow_nan=False) + "\n" for r in records)
        with io.atomic_path(self.path) as tmp:
            tmp.write_text(text, encoding="utf-8")


def check_output(output: str | Path, resume: bool) -> None:
    """Raises OutputError when `output` exists and is not to be resumed."""
    if Path(output).exists() and not resume:
        raise OutputError(f"{output} exists.", "Pass --resume to finish it, or another --output.")


def _record(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _line_no(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _parse(path: Path, text: str) -> tuple[list[dict[str, Any]], str | None]:
    """The records of a file's text, and a note on a torn last line."""
    lines = text.split("\n")
    torn = not text.endswith("\n")  # the last line's newline never came
    records, note = [], None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = _record(line)
        if record is not None:
            records.append(record)
        elif n == len(lines) and torn:
            note = f"{path}, line {n}: cut short (a killed writer?); skipped."
        else:
            raise OutputError(
                f"{path}, line {n}: not a JSON record.",
                "Fix or remove that line, or pass another file.",
            )
    return records, note
