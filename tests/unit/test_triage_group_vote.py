"""Triage's group vote: by the group's stable id where the tool has one, shown by its name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer.enhance.records import IndexedTicket
from ticket_enhancer.enhance.triage import suggest_triage


def resolved(n: int, subject: str, group: str, group_id: str = "") -> IndexedTicket:
    return IndexedTicket(
        ticket_id=f"h{n}",
        display_key=f"#{n}",
        subject=subject,
        text=subject,
        status="resolved",
        resolved="2026-01-01T00:00:00+00:00",
        group=group,
        group_id=group_id,
    )


def test_a_renamed_group_is_one_group_shown_by_its_best_voters_name() -> None:
    history = [
        resolved(1, "VPN error 809 on the finance laptops", "Network Operations", "9001"),
        resolved(2, "VPN error 809 again", "Network Ops", "9001"),  # its name before a rename
        resolved(3, "VPN error 809 for sales", "Network Ops", "9001"),
        resolved(4, "VPN error 809 at home", "Desk", "9002"),
        resolved(5, "VPN error 809 in Berlin", "Desk", "9002"),
    ]
    suggestion = suggest_triage("VPN error 809 on the finance laptops", history)
    assert suggestion is not None
    assert suggestion.group is not None
    assert suggestion.group.id == "9001"
    assert suggestion.group.votes == 3  # both names of the group, one vote each
    assert suggestion.group.value == "Network Operations"  # the most similar ticket's name for it


def test_the_same_name_under_two_ids_is_two_groups_and_no_id_votes_by_name() -> None:
    by_name = [resolved(n, f"Printer jammed on floor {n}", "Desk Support") for n in range(3)]
    suggestion = suggest_triage("Printer jammed on floor 2", by_name)
    assert suggestion is not None
    assert suggestion.group is not None
    assert (suggestion.group.value, suggestion.group.id, suggestion.group.votes) == ("Desk Support", "", 3)

    # Two projects' components of one name (Jira): neither has the votes to be suggested.
    split = [
        resolved(1, "Disk full on db01", "Servers", "10104"),
        resolved(2, "Disk full on db02", "Servers", "10114"),
    ]
    suggestion = suggest_triage("Disk full on db03", split)
    assert suggestion is None or suggestion.group is None


WORDS = st.sampled_from(["vpn", "printer", "mail", "password", "disk", "error", "slow", "down", "wifi"])
GROUPS = st.sampled_from(
    [("", ""), ("Net", "1"), ("Network", "1"), ("Desk", "2"), ("Desk", ""), ("Mail", "")]
)


@given(
    st.lists(st.tuples(st.lists(WORDS, min_size=1, max_size=5), GROUPS), max_size=25),
    st.lists(WORDS, min_size=1),
)
def test_the_suggested_group_is_one_a_similar_ticket_was_in(
    rows: list[tuple[list[str], tuple[str, str]]], query: list[str]
) -> None:
    history = [resolved(i, " ".join(words), name, gid) for i, (words, (name, gid)) in enumerate(rows)]
    suggestion = suggest_triage(" ".join(query), history)
    if suggestion is None or suggestion.group is None:
        return
    group = suggestion.group
    voters = [
        t
        for t in history
        if (t.group_id == group.id if group.id else not t.group_id and t.group == group.value)
    ]
    assert len(voters) >= group.votes >= 2
    assert group.value in {t.group for t in voters}  # a name the tool gave that group
