"""Validate render_note's ADF output against Atlassian's published ADF v1 JSON schema.

The schema ships in the npm package @atlaskit/adf-schema (dist/json-schema/v1/full.json, draft-04).
It is fetched once with `npm pack` into .cache/adf-schema/<version>/ (git-ignored); without npm or
a reachable npm registry these tests are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from jsonschema.exceptions import best_match
from ticket_enhancer.render import LINK_CLOSE, LINK_OPEN, LINK_SEP, MAX_INPUT_CHARS, link, render_note

ADF_SCHEMA_PACKAGE = "@atlaskit/adf-schema"
ADF_SCHEMA_VERSION = "57.7.22"  # pinned: a release that ships dist/json-schema/v1/full.json
SCHEMA_MEMBER = "package/dist/json-schema/v1/full.json"
CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "adf-schema" / ADF_SCHEMA_VERSION
FOOTER = "Ticket Enhancer · job 01J9ZK3Q8WBX4M7T2N5R6S0V1C"


def _fetch_schema(destination: Path) -> None:
    """Download the pinned package with npm and extract the schema file to ``destination``."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed, so the ADF JSON schema cannot be fetched")
    spec = f"{ADF_SCHEMA_PACKAGE}@{ADF_SCHEMA_VERSION}"
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent) as tmp:
        try:
            result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                [npm, "pack", spec, "--pack-destination", tmp, "--loglevel=error"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"npm could not fetch {spec} (no network or npm registry unreachable?): {exc}")
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            lines = [
                line for line in result.stderr.splitlines() if line.strip() and "complete log" not in line
            ]
            detail = lines[0] if lines else f"exit code {result.returncode}"
            pytest.skip(f"npm could not fetch {spec} (no network or npm registry unreachable?): {detail}")
        with tarfile.open(tarballs[0], "r:gz") as archive:
            member = archive.extractfile(SCHEMA_MEMBER)  # read one known member; never extractall
            assert member is not None, f"{spec} does not ship {SCHEMA_MEMBER}"
            partial = Path(tmp) / "full.json"
            partial.write_bytes(member.read())
        os.replace(partial, destination)


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    schema_path = CACHE_DIR / "full.json"
    if not schema_path.exists():
        _fetch_schema(schema_path)
    schema: dict[str, Any] = json.loads(schema_path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def assert_valid(validator: Draft4Validator, doc: dict[str, Any]) -> None:
    error = best_match(validator.iter_errors(doc))
    assert error is None, (
        f"{error.message} at {list(error.absolute_path)}\n{json.dumps(doc, indent=1)[:4000]}"
    )


EXAMPLES = {
    "empty": "",
    "headings": "# One\n## Two **bold**\n### Three `code`",
    "paragraphs": "First **bold** and `x < y`\nsecond line with "
    + link("a link", "https://kb.example.com/a?b=1&c=2")
    + "\n\nNext",
    "marks": f"**bold** {link('`code` link', 'http://y.example/')} and **a `c` b**",
    "unsafe_links": f"{LINK_OPEN}x{LINK_SEP}javascript:alert(1){LINK_CLOSE} {link('w', '/relative')}",
    "text_links": "[x](https://x.example/) <https://y.example/> https://z.example/ **[b](http://b.example/)**",
    "bullets": "- one\n- **two**\n  continued\n- " + link("three", "https://z.example/"),
    "ordered": "1. first\n2. `second`\n10. tenth",
    "code": "```python\nif a < b:\n    print('<script>')\n```",
    "empty_code": "```\n```",
    "unclosed_code": "```\nnever closed\n# not a heading",
    "hostile": '<img src=x onerror=alert(1)> [code]<script>x</script>[/code] & "q" \x00\u200b\u202e',
    "literal": "#### four\n* star\n1) paren\n---\n> quote",
    "mixed": "# Summary\nText\n- a\n1. b\n```\nc\n```\n## Next\n\n\n**end**",
    "truncated": "word " * (MAX_INPUT_CHARS // 5 + 10),
}


@pytest.mark.parametrize("markdown", EXAMPLES.values(), ids=EXAMPLES.keys())
def test_rendered_examples_match_adf_schema(validator: Draft4Validator, markdown: str) -> None:
    assert_valid(validator, render_note(markdown, "adf", footer=FOOTER))


def test_empty_footer_matches_adf_schema(validator: Draft4Validator) -> None:
    assert_valid(validator, render_note("# x", "adf", footer=""))


def test_schema_rejects_what_the_renderer_avoids(validator: Draft4Validator) -> None:
    """Guards the guard: the schema really forbids empty text and code+strong marks."""
    empty_text = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
    }
    code_strong = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "x", "marks": [{"type": "code"}, {"type": "strong"}]}],
            }
        ],
    }
    assert not validator.is_valid(empty_text)
    assert not validator.is_valid(code_strong)


TOKENS = [
    *"<>\"'&*`[]()#-.:/ \n\t\x00\u200b·",
    "<script>",
    "<img src=x onerror=alert(1)>",
    "[code]",
    "[/code]",
    "**",
    "```",
    "\n\n",
    "\n# ",
    "\n## ",
    "\n### ",
    "\n- ",
    "\n  ",
    "\n1. ",
    "[x](https://ok.example/a)",
    "[y](javascript:alert(1))",
    link("x", "https://ok.example/a"),
    f"{LINK_OPEN}y{LINK_SEP}javascript:alert(1){LINK_CLOSE}",
    LINK_OPEN,
    LINK_SEP,
    LINK_CLOSE,
    "[",
    "](https://ok.example/b)",
    "word",
]
markdown_text = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=60).map("".join),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=30).map("".join),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown=markdown_text)
def test_generated_documents_match_adf_schema(validator: Draft4Validator, markdown: str) -> None:
    assert_valid(validator, render_note(markdown, "adf", footer=FOOTER))
