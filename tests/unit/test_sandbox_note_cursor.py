"""The sandbox's note counts since a cursor (``GET /_sandbox/{tool}/_notes?since=``): a watcher that
polls with the cursor it was last given ends up with exactly the counts a full read gives, whatever
notes were added or deleted between its polls and across resets, while each poll carries only the
tickets that changed."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

TICKETS = ("500001", "500002", "500003")
COMMENT = json.dumps({"body": {"type": "doc", "version": 1, "content": []}}).encode()


def add_comment(sandbox: VendorSandbox, ticket_id: str) -> str:
    answer = sandbox.handle("POST", f"/_sandbox/jira/rest/api/3/issue/{ticket_id}/comment", "", {}, COMMENT)
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def delete_comment(sandbox: VendorSandbox, ticket_id: str, comment_id: str) -> int:
    path = f"/_sandbox/jira/rest/api/3/issue/{ticket_id}/comment/{comment_id}"
    return sandbox.handle("DELETE", path, "", {}, b"").status


def fresh() -> VendorSandbox:
    sandbox = VendorSandbox()
    for ticket_id in TICKETS:
        sandbox.add_ticket("jira", ticket_id)
    return sandbox


def test_a_poll_with_the_cursor_carries_only_the_tickets_changed_since() -> None:
    sandbox = fresh()
    add_comment(sandbox, "500001")
    counts, cursor = sandbox.note_counts("jira")
    assert counts == {"500001": 1}

    assert sandbox.note_counts("jira", cursor) == ({}, cursor)  # nothing new: nothing sent
    add_comment(sandbox, "500002")
    add_comment(sandbox, "500002")
    counts, later = sandbox.note_counts("jira", cursor)
    assert counts == {"500002": 2}
    assert later != cursor

    assert delete_comment(sandbox, "500002", "1") == 204  # a deletion is a change too
    assert sandbox.note_counts("jira", later)[0] == {"500002": 1}


def test_a_cursor_from_before_a_reset_or_not_ours_reads_every_ticket() -> None:
    sandbox = fresh()
    add_comment(sandbox, "500001")
    _, cursor = sandbox.note_counts("jira")
    sandbox.reset()
    sandbox.add_ticket("jira", "500003")
    add_comment(sandbox, "500003")
    assert sandbox.note_counts("jira", cursor)[0] == {"500003": 1}  # the old epoch's cursor
    epoch = sandbox.state.epoch
    other = VendorSandbox()  # another stack's sandbox: its epochs start elsewhere
    other_cursor = other.note_counts("jira")[1]
    foreign = ["", "x", "1.", ".3", f"{epoch + 7}.0", f"{epoch}.-1", f"{epoch}.999999", f"{epoch}.1e3"]
    for since in [*foreign, f"{epoch}.\u00b2", other_cursor]:
        assert sandbox.note_counts("jira", since)[0] == {"500003": 1}, since
    assert sandbox.note_counts("jira", f"{epoch}.0")[0] == {"500003": 1}  # ours, from the reset on


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(TICKETS)),
        st.tuples(st.just("delete"), st.sampled_from(TICKETS)),
        st.tuples(st.just("poll"), st.just("")),
        st.tuples(st.just("reset"), st.just("")),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_polling_with_the_cursor_sees_what_a_full_read_sees(ops: list[tuple[str, str]]) -> None:
    sandbox = fresh()
    seen: dict[str, int] = {}
    cursor = ""
    for op, ticket_id in [*ops, ("poll", "")]:
        if op == "add":
            add_comment(sandbox, ticket_id)
        elif op == "delete":
            notes = sandbox.notes("jira", ticket_id)
            if notes:
                assert delete_comment(sandbox, ticket_id, str(notes[0]["id"])) == 204
        elif op == "reset":
            sandbox.reset()
            for ticket in TICKETS:
                sandbox.add_ticket("jira", ticket)
            seen = {}  # counts are per sandbox (the load benchmark's runs use other ticket ids after one)
        else:
            counts, cursor = sandbox.note_counts("jira", cursor)
            seen.update(counts)
    assert seen == sandbox.note_counts("jira")[0]
