"""The comment tree as a materialised path, and its layout for one-pass rendering.

Each comment's `path` is its parent's path followed by its own id, written
in fixed-width base 36. Sorting an essay's comments by path gives display
order (every reply under its parent, siblings oldest first) in one indexed
query. Because the segment is the comment's own primary key, two replies
posted at the same moment can never compute the same path: no lock, no
renumbering of siblings, nothing to shift when the tree grows.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

STEP = 7  # base-36 digits per level: ids up to 78 billion
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def segment(comment_id: int) -> str:
    if comment_id <= 0:
        raise ValueError("comment ids are positive")
    out = ""
    while comment_id:
        comment_id, digit = divmod(comment_id, 36)
        out = _DIGITS[digit] + out
    if len(out) > STEP:
        raise ValueError("comment id too large for the path width")
    return out.rjust(STEP, "0")


def child_path(parent_path: str, comment_id: int) -> str:
    return parent_path + segment(comment_id)


def depth_of(path: str) -> int:
    """0 for a top-level comment, 1 for a reply to it, and so on."""
    return len(path) // STEP - 1


def parent_path_of(path: str) -> str:
    return path[:-STEP]


@dataclass
class ThreadItem:
    comment: Any
    depth: int
    tombstone: bool
    # For nested <ol> markup from a flat loop: open a reply list inside the
    # previous item, or close the previous item and `closes` levels above it.
    opens: bool = False
    closes: range = field(default_factory=lambda: range(0))


@dataclass
class Thread:
    items: list[ThreadItem]
    tail: range  # levels to close after the last item

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def layout(comments: Sequence[Any], is_visible: Callable[[Any], bool]) -> Thread:
    """Turn comments in path order into render-ready items.

    `is_visible(comment)` says whether a comment is shown with its text. A
    comment that is not visible is still shown, as a tombstone, when some
    visible comment hangs below it, so the thread keeps its shape; otherwise
    it is left out.
    """
    needed: set[str] = set()
    shown: list[tuple[Any, bool]] = []
    for comment in reversed(comments):
        visible = is_visible(comment)
        if visible or comment.path in needed:
            shown.append((comment, not visible))
            needed.add(parent_path_of(comment.path))
    shown.reverse()

    items: list[ThreadItem] = []
    previous = 0
    for index, (comment, tombstone) in enumerate(shown):
        depth = depth_of(comment.path)
        item = ThreadItem(comment=comment, depth=depth, tombstone=tombstone)
        if index and depth > previous:
            item.opens = True
        elif index:
            item.closes = range(previous - depth)
        items.append(item)
        previous = depth
    return Thread(items=items, tail=range(previous if items else 0))
