"""What a process that is the only writer of something keeps of it in memory: a bounded map that knows when
it holds everything, so that a miss then means "nothing stored" without asking the database."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Remembered(OrderedDict[K, V]):
    """Up to `size` entries, the least recently set leaving first (size 0: remembers nothing).

    `complete` is set by whoever loaded every stored entry; while it holds, a key that is absent has
    nothing stored. The first entry lost to the bound ends it: from then on a miss must be looked up.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.complete = False

    def __setitem__(self, key: K, value: V) -> None:
        if self.size <= 0:
            return
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
            self.complete = False

    def load(self, entries: dict[K, V]) -> bool:
        """All that is stored, when it fits: afterwards `complete`. False (and nothing changed) if it does not."""
        if self.size <= 0 or len(entries) > self.size:
            return False
        self.clear()
        self.update(entries)
        self.complete = True
        return True
