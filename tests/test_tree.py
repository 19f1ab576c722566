"""The materialised path and the one-pass layout of a thread."""

from dataclasses import dataclass

import pytest

from forum.discussion import tree


@dataclass
class Fake:
    path: str
    visible: bool = True


def p(*ids: int) -> str:
    return "".join(tree.segment(i) for i in ids)


def test_segments_sort_like_the_ids_they_encode():
    ids = [1, 9, 10, 35, 36, 1000, 99_999, 2_000_000]
    assert sorted(ids, key=tree.segment) == ids
    assert all(len(tree.segment(i)) == tree.STEP for i in ids)


def test_it_refuses_ids_that_do_not_fit():
    with pytest.raises(ValueError):
        tree.segment(0)
    with pytest.raises(ValueError):
        tree.segment(36**tree.STEP)


def test_depth_and_parent_come_from_the_path():
    assert tree.depth_of(p(5)) == 0
    assert tree.depth_of(p(5, 7, 9)) == 2
    assert tree.parent_path_of(p(5, 7, 9)) == p(5, 7)


def test_layout_nests_replies_under_their_parents():
    comments = [Fake(p(1)), Fake(p(1, 2)), Fake(p(1, 2, 3)), Fake(p(4)), Fake(p(4, 5)), Fake(p(4, 6))]
    thread = tree.layout(comments, lambda c: c.visible)
    assert [item.depth for item in thread] == [0, 1, 2, 0, 1, 1]
    assert [item.opens for item in thread] == [False, True, True, False, True, False]
    assert [len(item.closes) for item in thread] == [0, 0, 0, 2, 0, 0]
    assert len(thread.tail) == 1


def test_hidden_comment_without_visible_replies_is_left_out():
    comments = [Fake(p(1)), Fake(p(1, 2), visible=False), Fake(p(3))]
    thread = tree.layout(comments, lambda c: c.visible)
    assert [item.comment.path for item in thread] == [p(1), p(3)]


def test_hidden_comment_with_visible_replies_stays_as_a_tombstone():
    comments = [Fake(p(1), visible=False), Fake(p(1, 2), visible=False), Fake(p(1, 2, 3)), Fake(p(4), visible=False)]
    thread = tree.layout(comments, lambda c: c.visible)
    assert [(item.comment.path, item.tombstone) for item in thread] == [
        (p(1), True),
        (p(1, 2), True),
        (p(1, 2, 3), False),
    ]


def test_an_empty_thread_closes_nothing():
    thread = tree.layout([], lambda c: True)
    assert len(thread) == 0
    assert len(thread.tail) == 0
