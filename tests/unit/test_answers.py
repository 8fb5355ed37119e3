"""Evaluate's answers in memory: kept only while the change feed shows them current."""

from __future__ import annotations

from services.scoring import answers
from services.scoring.answers import AnswerStore

DAY = ("2025-11-20", None)


class Clock:
    """A clock the test moves: the store's time windows without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def at(seq: int) -> tuple[int, str]:
    return seq, f"h{seq}"


def following(most: int = 10, max_age: float = 60.0, clock: Clock | None = None
              ) -> AnswerStore[str]:
    clock = clock or Clock()
    store: AnswerStore[str] = AnswerStore(most, max_age, clock)
    store.advance(at(5), [], clock())
    return store


def test_nothing_is_kept_or_served_before_the_feed_is_followed() -> None:
    store: AnswerStore[str] = AnswerStore(10, 60.0)
    assert store.ticket() is None
    assert store.put(store.ticket(), at(5), [("a", DAY, "A")]) == 0
    assert store.get("a", DAY) is None
    disabled: AnswerStore[str] = AnswerStore(0, 60.0)
    disabled.advance(at(5), [], 0.0)
    assert disabled.ticket() is None


def test_an_answer_is_served_until_its_entity_changes_on_the_feed() -> None:
    store = following()
    assert store.put(store.ticket(), at(5), [("a", DAY, "A"), ("b", DAY, "B")]) == 2
    assert store.get("a", DAY) == "A" and store.get("b", DAY) == "B"
    assert store.get("a", ("2025-11-19", None)) is None  # another date: not asked yet
    store.advance(at(6), ["a"], store.clock())
    assert store.get("a", DAY) is None  # every variant of a changed entity goes
    assert store.get("b", DAY) == "B"


def test_an_answer_read_before_the_followers_position_is_not_kept() -> None:
    # Read at 5; meanwhile the follower passed event 6, which may be this entity's.
    store = following()
    ticket = store.ticket()
    store.advance(at(6), ["someone-else"], store.clock())
    assert store.put(ticket, at(5), [("a", DAY, "A")]) == 0
    assert store.get("a", DAY) is None
    # Read at 6 or later (the feed's last event, read just before the features): kept.
    assert store.put(store.ticket(), at(6), [("a", DAY, "A")]) == 1


def test_the_next_poll_checks_the_latest_position_an_answer_was_read_at() -> None:
    store = following()
    assert store.watch() == (at(5), None)
    store.put(store.ticket(), at(8), [("a", DAY, "A")])
    store.put(store.ticket(), at(7), [("b", DAY, "B")])
    assert store.watch() == (at(5), at(8))
    store.clear("model")
    assert store.watch() == (at(5), None)


def test_work_begun_before_a_drop_all_is_not_kept() -> None:
    store = following()
    ticket = store.ticket()
    store.clear("model")  # a new model was installed while this answer was computed
    assert store.put(ticket, at(5), [("a", DAY, "old model")]) == 0
    assert store.put(store.ticket(), at(5), [("a", DAY, "new model")]) == 1
    assert store.get("a", DAY) == "new model"


def test_a_reset_feed_drops_everything() -> None:
    # None: the events checked are gone or are others, or too many changes to read by key;
    # a tip below the position: the records database was restored from an older backup.
    for tip, changed in ((at(7), None), (at(3), [])):
        store = following()
        ticket = store.ticket()
        store.put(ticket, at(5), [("a", DAY, "A")])
        store.advance(tip, changed, store.clock())
        assert store.get("a", DAY) is None
        assert store.put(ticket, at(9), [("a", DAY, "A")]) == 0  # begun before the reset


def test_without_a_recent_poll_nothing_is_served() -> None:
    clock = Clock()
    store = following(clock=clock)
    store.put(store.ticket(), at(5), [("a", DAY, "A")])
    clock.now += answers.STALE_SECONDS
    assert store.get("a", DAY) == "A"
    clock.now += 0.01  # no poll has begun since: a change could be unseen
    assert store.get("a", DAY) is None
    # A poll that began before now counts from when it began, not from when it ended.
    store.advance(at(5), [], clock.now - answers.STALE_SECONDS - 0.005)
    assert store.get("a", DAY) is None
    store.advance(at(5), [], clock.now)
    assert store.get("a", DAY) == "A"


def test_an_answer_older_than_max_age_is_read_again() -> None:
    clock = Clock()
    store = following(max_age=30.0, clock=clock)
    store.put(store.ticket(), at(5), [("a", DAY, "A")])
    clock.now += 30.0
    store.advance(at(5), [], clock.now)  # the follower is current; the answer is just old
    assert store.get("a", DAY) == "A"
    clock.now += 0.01
    store.advance(at(5), [], clock.now)
    assert store.get("a", DAY) is None


def test_the_least_recently_asked_entities_go_first_and_variants_are_bounded() -> None:
    store = following(most=2)
    store.put(store.ticket(), at(5), [("a", DAY, "A"), ("b", DAY, "B")])
    assert store.get("a", DAY) == "A"  # a is now the most recent
    store.put(store.ticket(), at(5), [("c", DAY, "C")])
    assert store.get("b", DAY) is None
    assert store.get("a", DAY) == "A" and store.get("c", DAY) == "C"

    # The bound counts answers, not entities: an entity asked about on many dates weighs more.
    store = following(most=3)
    other = ("2025-11-19", None)
    store.put(store.ticket(), at(5), [("a", DAY, "A"), ("a", other, "A'"), ("b", DAY, "B")])
    store.put(store.ticket(), at(5), [("b", other, "B'")])
    assert store.get("a", DAY) is None and store.get("a", other) is None
    assert store.get("b", DAY) == "B" and store.get("b", other) == "B'"

    store = following(most=100)
    days = [(f"2025-11-{d:02d}", None) for d in range(1, answers.VARIANTS_PER_ENTITY + 2)]
    assert store.put(store.ticket(), at(5), [("a", d, d[0]) for d in days]) == len(days)
    assert store.get("a", days[0]) is None  # the oldest variant went
    assert [store.get("a", d) for d in days[1:]] == [d[0] for d in days[1:]]
