"""The task reference of docs/RELEASING.md, made from the tasks' own help (``inv --help TASK``).

python scripts/task_reference.py            print it
python scripts/task_reference.py --write    rewrite it in docs/RELEASING.md, between the
                                            ``<!-- tasks:begin -->`` and ``<!-- tasks:end -->``
                                            markers (tests/engine/test_doc_sources.py checks
                                            that the file holds what this prints)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RELEASING.md"
BEGIN, END = "<!-- tasks:begin -->", "<!-- tasks:end -->"


def reference() -> str:
    """One table per task, in ``inv --list``'s order: each flag, its short flag, its help."""
    sys.path.insert(0, str(ROOT))
    import tasks

    lines = [BEGIN, "<!-- made by scripts/task_reference.py --write: edit the tasks' help -->"]
    for name in sorted(tasks.ns.task_names):
        task = tasks.ns[name]
        lines += ["", f"#### `inv {name}`", "", (task.__doc__ or "").strip().splitlines()[0], ""]
        lines += ["| flag | meaning |", "|---|---|"]
        for argument in sorted(task.get_arguments(), key=lambda a: a.names[0]):
            long, *short = argument.names
            value = "" if argument.kind is bool else "=VALUE"
            flags = ", ".join([f"`--{long}{value}`", *(f"`-{s}`" for s in short)])
            help_text = task.help.get(argument.attr_name, task.help.get(long, ""))
            lines.append(f"| {flags} | {help_text.replace('|', '/')} |")
    return "\n".join([*lines, "", END])


def write() -> None:
    text = DOC.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC} has no {BEGIN} … {END} block: add one where the reference goes")
    DOC.write_text(pattern.sub(lambda _: reference(), text))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite docs/RELEASING.md")
    if parser.parse_args().write:
        write()
    else:
        print(reference())
