"""`manage.py import_activity FILE`: output, exit status, standard input, progress bar."""

import io
import sys

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

from asteragents.models import Organization
from tests.conversations.activity import activity, dump, ndjson, organization

pytestmark = pytest.mark.django_db

SUMMARY = (
    "Imported 18 records: 18 created, 0 updated (organization 2 created; user 3 created; "
    "membership 3 created; agent 3 created; conversation 2 created; message 2 created; "
    "feedback 1 created; knowledgeBase 1 created; knowledgeBaseFile 1 created)\n"
)


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "activity.ndjson"
    path.write_bytes(b"".join(ndjson(activity())))
    return path


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"".join([*ndjson(activity()[:4]), b'{"type": "user", "id": 5}\n']))
    return path


def run(*args, stdin: bytes | None = None, monkeypatch=None, stderr=None):
    out = io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    call_command("import_activity", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_a_file_and_prints_the_summary(good_file):
    out, err = run(str(good_file))
    assert (out, err) == (SUMMARY, "")
    assert Organization.objects.count() == 2


def test_a_bad_line_is_a_command_error_and_writes_nothing(bad_file):
    with pytest.raises(CommandError) as error:
        run(str(bad_file))
    assert str(error.value) == (
        f'{bad_file}: line 5: field "id": must be a string, got number 5; nothing was imported'
    )
    assert dump() == {name: [] for name in dump()}


def test_exit_status_and_stderr(bad_file, good_file, capsys, monkeypatch):
    # manage.py's own path: run_from_argv prints the error and exits non-zero. It also
    # closes every connection, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    command = load_command_class("conversations", "import_activity")
    with pytest.raises(SystemExit) as exit_status:
        command.run_from_argv(["manage.py", "import_activity", str(bad_file)])
    assert exit_status.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f'CommandError: {bad_file}: line 5: field "id": must be a string, got number 5; '
        "nothing was imported\n"
    )
    command = load_command_class("conversations", "import_activity")
    command.run_from_argv(["manage.py", "import_activity", str(good_file)])  # no SystemExit
    assert capsys.readouterr().out == SUMMARY


def test_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match=r"cannot read .*nowhere.ndjson: No such file"):
        run(str(tmp_path / "nowhere.ndjson"))


def test_standard_input(monkeypatch):
    data = b"".join(ndjson([organization("org_a"), organization("org_b")]))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out, _ = run("-")
    assert out == "Imported 2 records: 2 created, 0 updated (organization 2 created)\n"


def test_standard_input_error_names_it(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n[]\n")))
    with pytest.raises(CommandError) as error:
        run("-")
    assert str(error.value) == ("-: line 2: must be a JSON object, got array; nothing was imported")


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.ndjson"
    path.write_bytes(b"")
    assert run(str(path)) == ("Imported 0 records: nothing to import\n", "")


def test_progress_bar_on_a_terminal_only(good_file):
    terminal = Terminal()
    out, _ = run(str(good_file), stderr=terminal)
    assert out == SUMMARY
    size_mb = good_file.stat().st_size / 1_000_000
    assert terminal.getvalue() == f"\r[{'#' * 30}] 100% {size_mb:.1f}/{size_mb:.1f} MB\n"
    assert run(str(good_file))[1] == ""  # not a terminal: no bar


def test_progress_without_a_known_size(monkeypatch):
    data = b"".join(ndjson([organization("org_a")]))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    terminal = Terminal()
    run("-", stderr=terminal)
    assert terminal.getvalue() == "\r0.0 MB read\n"


def test_help_text_on_every_argument():
    command = load_command_class("conversations", "import_activity")
    parser = command.create_parser("manage.py", "import_activity")
    assert "NDJSON" in command.help
    own = [action for action in parser._actions if action.dest == "file"]
    assert own and all(action.help for action in own)
    assert "or - to read standard input" in " ".join(parser.format_help().split())
