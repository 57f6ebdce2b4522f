"""The documentation cannot drift from the code.

* Every ``moviedl`` command in a ```bash / ```sh / ```console block of README.md and docs/*.md
  runs, in order per document, in a folder holding the bundled samples and a copy of the sample
  lake, and exits 0 (or 0/1 where the doc writes ``cmd || handle-failure``). The few that need
  AWS are listed in :data:`NEEDS_AWS` with the reason; their options are still checked.
* ```python blocks run too.
* The output shown in plain blocks starting ``$ moviedl`` is what ``python3 -m
  tests.regenerate_docs`` generates today.
* Usage synopses (```` ``` ```` blocks like ``moviedl refine [--stage ...]``) and inline
  ``moviedl <command> --option`` name only commands and options that exist.
* Every relative link and every path of a repo file a document names exists in the repo.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer

from moviedl.cli import app
from tests.regenerate_docs import (
    ROOT,
    Block,
    Invocation,
    blocks,
    chdir,
    documents,
    invoke,
    logical_lines,
    prepare_folder,
    regenerate,
    split_commands,
)

DOCS = documents()
SHELL = {"bash", "sh", "shell", "console"}
CLI: Any = typer.main.get_command(app)  # typer's own (vendored) click objects


def doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


# Commands the tests cannot run because they need AWS itself (an S3 bucket, Athena, Glue), with
# why. Their subcommand and options are still checked against the CLI (test_options_exist).
def needs_aws(argv: list[str], env: dict[str, str | None]) -> str | None:
    lake = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--lake"), None)
    lake = lake or env.get("MOVIEDL_LAKE") or ""
    if "--execute" in argv:
        return "runs the DDL in Athena"
    if "--glue" in argv:
        return "writes to the Glue Data Catalog"
    if lake.startswith("s3://") and "--policy" not in argv:  # --policy only prints JSON
        return "reads or writes an S3 bucket"
    return None


def run_document(
    path: Path, folder: Path, tmdb: Any, name: str | None = None
) -> tuple[list[str], int, list[str]]:
    """Run the command blocks of ``path`` in ``folder``: failures, commands run, skipped.
    TMDB is ``tmdb`` (a tests.fake_tmdb.FakeTmdb), which accepts the key the doc exports."""
    failures: list[str] = []
    skipped: list[str] = []
    ran = 0
    name = name or doc_id(path)
    with chdir(folder):
        for block in blocks(path.read_text("utf-8")):
            # an ``export`` holds for the rest of its block (the doc's example session) only
            env: dict[str, str | None] = {"MOVIEDL_TMDB_BASE_URL": tmdb.url}
            if block.lang == "python":
                where = f"{name}:{block.start + 2}"
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile("\n".join(block.lines), where, "exec"), {})  # noqa: S102
                except Exception as exc:  # the report says which block and why
                    failures.append(f"{where}: python block raised {exc!r}")
                ran += 1
                continue
            if block.lang not in SHELL and not is_plain_commands(block):
                continue
            for n, line in logical_lines(block.lines):
                where = f"{name}:{block.start + 2 + n}"
                if block.lang == "console":
                    if not line.startswith("$ "):
                        continue  # output
                    line = line[2:]
                for command in split_commands(line):
                    if isinstance(command, list):
                        _other_command(command, env, tmdb, where, failures)
                        continue
                    reason = needs_aws(command.argv, env)
                    if reason:
                        skipped.append(f"{where}: {reason}")
                        continue
                    ran += 1
                    failure = _run(command, env, folder)
                    if failure:
                        failures.append(f"{where}: `{line.strip()}` {failure}")
    return failures, ran, skipped


def is_plain_commands(block: Block) -> bool:
    """A block with no language that holds only ``moviedl`` command lines (no output, no usage
    synopsis with ``[--option]``): run like a ```bash block."""
    lines = [ln for ln in block.lines if ln.strip()]
    return (
        block.lang == ""
        and bool(lines)
        and all(ln.startswith("moviedl ") and "[" not in ln.split("#")[0] for ln in lines)
    )


def _other_command(
    words: list[str], env: dict[str, str | None], tmdb: Any, where: str, failures: list[str]
) -> None:
    """Not moviedl: ``export`` sets the environment of the commands after it; a ``python FILE``
    must name a file of the repo; the rest (pip, jq, aws, cat) is not ours to run."""
    if words[0] == "export":
        for assignment in words[1:]:
            name, _, value = assignment.partition("=")
            env[name] = value
            if name == "TMDB_READ_ACCESS_TOKEN":
                tmdb.token = value
            elif name == "TMDB_API_KEY":
                tmdb.api_key = value
    elif words[0] in ("python", "python3") and words[1:] and words[1].endswith(".py"):
        if not (ROOT / words[1]).is_file():
            failures.append(f"{where}: {words[1]} is not a file of the repo")


def _run(command: Invocation, env: dict[str, str | None], folder: Path) -> str | None:
    if "TMDB_READ_ACCESS_TOKEN" not in env and "TMDB_API_KEY" not in env:
        env = {**env, "MOVIEDL_TMDB_BASE_URL": "http://127.0.0.1:9/3"}
    code, output, stdout = invoke(command.argv, env)
    allowed = {0, 1} if command.may_fail else {0}
    if code not in allowed:
        return f"exited {code} (expected {sorted(allowed)}):\n{output[-2000:]}"
    if command.stdout_to:
        (folder / command.stdout_to).write_text(stdout, "utf-8")
    return None


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_command_blocks_run(path: Path, refined_sample: Path, clean_env: Path, fake_tmdb) -> None:
    prepare_folder(clean_env)
    shutil.copytree(refined_sample, clean_env / "lake")
    # The fake TMDB has no rate limit to respect: look up the sample's titles without waiting.
    (clean_env / "moviedl.toml").write_text("[tmdb]\nrequests_per_second = 1000\n", "utf-8")
    failures, ran, skipped = run_document(path, clean_env, fake_tmdb)
    assert not failures, "\n\n".join(failures)
    print(f"{doc_id(path)}: {ran} run, {len(skipped)} need AWS", *skipped, sep="\n  ")


def test_generated_output_is_current() -> None:
    stale = [doc_id(p) for p in DOCS if regenerate(p.read_text("utf-8")) != p.read_text("utf-8")]
    assert not stale, f"output shown in {stale} is not what moviedl prints now: run python3 -m tests.regenerate_docs"


def test_some_output_is_generated() -> None:
    text = (ROOT / "docs" / "getting-started.md").read_text("utf-8")
    assert sum(b.generated for b in blocks(text)) >= 3


# --- commands and options named in the docs exist -------------------------------------------

OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def _params(command: Any) -> dict[str, Any]:
    return {o: p for p in command.params for o in (*p.opts, *p.secondary_opts)}


def _options_of(words: list[str]) -> tuple[str, set[str]] | None:
    """The (sub)command named by ``moviedl`` words and the options it accepts: global ones
    and its own (the global options are accepted before the subcommand)."""
    command = CLI
    names: list[str] = []
    params = _params(CLI)
    takes_value = False
    for word in words:
        if takes_value:
            takes_value = False
            continue
        if word.startswith("-"):
            param = params.get(word.split("=", 1)[0])
            takes_value = (
                param is not None
                and not getattr(param, "is_flag", False)
                and not getattr(param, "count", False)
                and "=" not in word
            )
            continue
        if hasattr(command, "commands"):
            if word not in command.commands:
                return (word, set())  # not a command
            command = command.commands[word]
            names.append(word)
            params |= _params(command)
    return " ".join(names), set(params) | {"--help"}


def _check_option_words(words: list[str], where: str, problems: list[str]) -> None:
    found = _options_of(words)
    if found is None:
        return
    name, opts = found
    if not opts:
        problems.append(f"{where}: `moviedl {name}` is not a command")
        return
    for word in words:
        m = OPTION.fullmatch(word.split("=", 1)[0].rstrip(",|]"))
        if m and m.group(1) not in opts:
            problems.append(f"{where}: `moviedl {name}` has no option {m.group(1)}")


def _moviedl_mentions(path: Path) -> list[tuple[str, list[str]]]:
    """Every ``moviedl ...`` in a shell, synopsis or generated block and in inline code."""
    text = path.read_text("utf-8")
    out: list[tuple[str, list[str]]] = []
    fenced: set[int] = set()
    for block in blocks(text):
        fenced.update(range(block.start, block.end + 1))
        if block.lang in SHELL or block.lang in ("", "cron"):
            for n, line in enumerate(block.lines):
                for m in re.finditer(r"(?:^|[\s$&;(])moviedl ((?:[^|&;#>]|\[[^\]]*\])*)", line):
                    if block.lang == "" and not _looks_like_command(block, n):
                        continue
                    out.append((f"{doc_id(path)}:{block.start + 2 + n}", m.group(1).split()))
    for i, line in enumerate(text.split("\n")):
        if i in fenced:
            continue
        for m in re.finditer(r"`moviedl ([^`]*)`", line):
            out.append((f"{doc_id(path)}:{i + 1}", m.group(1).split()))
    return out


def _looks_like_command(block: Block, n: int) -> bool:
    """In a plain block: a ``$ moviedl`` line or a usage synopsis, not a table title."""
    line = block.lines[n]
    return line.startswith("$ moviedl ") or (line.startswith("moviedl ") and "--" in line)


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_options_exist(path: Path) -> None:
    problems: list[str] = []
    for where, words in _moviedl_mentions(path):
        words = [w.strip("[]()") for w in words]
        _check_option_words([w for w in words if w], where, problems)
    assert not problems, "\n".join(problems)


def test_option_check_catches_a_wrong_option() -> None:
    problems: list[str] = []
    _check_option_words(["refine", "--stage", "all", "--no-such"], "x", problems)
    _check_option_words(["frobnicate"], "y", problems)
    _check_option_words(["-v", "validate", "--strict"], "z", problems)
    assert problems == [
        "x: `moviedl refine` has no option --no-such",
        "y: `moviedl frobnicate` is not a command",
    ]


# --- every file a document names is in the repo ---------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`]+)`")
REPO_DIRS = ("docs/", "moviedl/", "tests/", "benchmarks/")


def _tracked_like(target: str) -> bool:
    """Does an inline-code word look like a file of this repo (rather than of the lake or of
    the user's machine)? Paths under the repo's own folders, and *.md files."""
    return target.startswith(REPO_DIRS) or (target.endswith(".md") and "/" not in target)


def _exists(base: Path, target: str) -> bool:
    pattern = re.sub(r"<[^>]+>", "*", target)  # moviedl/sql/view_<name>.sql
    if "*" in pattern:
        return any(base.glob(pattern)) or any(ROOT.glob(pattern))
    return (base / pattern).exists() or (ROOT / pattern).exists()


def _anchors(path: Path) -> set[str]:
    slugs = set()
    for line in path.read_text("utf-8").split("\n"):
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slugs.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return slugs


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_named_files_exist(path: Path) -> None:
    text = path.read_text("utf-8")
    fenced = {i for b in blocks(text) for i in range(b.start, b.end + 1)}
    problems = []
    for i, line in enumerate(text.split("\n")):
        if i in fenced:
            continue
        for m in LINK.finditer(line):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            file, _, anchor = target.partition("#")
            dest = (path.parent / file) if file else path
            if not dest.exists():
                problems.append(f"{doc_id(path)}:{i + 1}: link to {target}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                problems.append(f"{doc_id(path)}:{i + 1}: link to {target}: no such heading")
        for m in CODE.finditer(line):  # `docs/x.md`, `python benchmarks/bench_refine.py`
            for word in m.group(1).split():
                target = word.strip("'\"()").rstrip(".,:;")
                if _tracked_like(target) and not _exists(path.parent, target):
                    problems.append(f"{doc_id(path)}:{i + 1}: `{target}` is not a file of the repo")
    assert not problems, "\n".join(problems)


def test_named_file_check_catches_spec() -> None:
    assert _tracked_like("SPEC.md") and not _exists(ROOT / "docs", "SPEC.md")
    assert _exists(ROOT / "docs", "moviedl/sql/view_<name>.sql")
    assert not _tracked_like("moviedl.toml") and not _tracked_like("Raw/Local/CSV/x.csv")


def test_a_failing_doc_command_fails(tmp_path: Path, clean_env: Path, fake_tmdb) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```bash\nmoviedl refine --no-such-option\nmoviedl config show  # fine\n```\n", "utf-8")
    failures, ran, skipped = run_document(doc, clean_env, fake_tmdb, name="doc.md")
    assert ran == 2 and not skipped
    assert len(failures) == 1 and failures[0].startswith("doc.md:2: `moviedl refine --no-such-option` exited 2")


def test_shell_lines_split_like_a_shell() -> None:
    (a, b, c) = split_commands("pip install . && moviedl run x.csv --lake ./lake; moviedl runs | jq .")
    assert a == ["pip", "install", "."]
    assert b == Invocation(["run", "x.csv", "--lake", "./lake"])
    assert c == Invocation(["runs"])
    (d,) = split_commands("moviedl validate --strict > v.json || alert 'lake not sound'  # note")
    assert d == Invocation(["validate", "--strict"], stdout_to="v.json", may_fail=True)
