"""The status poll's answers, kept by the row each was made from.

A poll always reads its application's row; the answer is a function of that row alone (and
of the process's catalogue and time zone, fixed at start). When the row read is the one the
kept answer was made from, the answer is sent again as it was: the status's JSON is not
parsed into its model, the view not built, the JSON not written again, which was a third of
a poll's time in the API process. Nothing is kept that the database does not hold now: a
row written since differs, and its answer is made afresh. There is nothing to invalidate,
so several API processes each keep their own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from pydantic import BaseModel

# Answers kept per process, the least recently polled dropped first: some 8 KB each (the
# row, with the status's 3-4 KB of JSON, and the answer), so some 8 MB in all.
SIZE = 1024


class StatusAnswers:
    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._kept: OrderedDict[str, tuple[Hashable, bytes]] = OrderedDict()

    def answer(self, number: str, row: Hashable, make: Callable[[], BaseModel]) -> bytes:
        """The JSON of `make()` for application `number` read as `row`: made once per row."""
        kept = self._kept.get(number)
        if kept is not None and kept[0] == row:
            self._kept.move_to_end(number)
            return kept[1]
        body = make().model_dump_json(by_alias=True).encode()  # as FastAPI writes a model
        self._kept[number] = (row, body)
        self._kept.move_to_end(number)
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return body

    def __len__(self) -> int:
        return len(self._kept)
