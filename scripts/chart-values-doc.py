#!/usr/bin/env python3
"""Writes the values table of deploy/helm/kedge/README.md from the `# --`
comments of its values.yaml, between the README's `<!-- values -->` and
`<!-- /values -->` lines. With --check, changes nothing and exits 1 (saying
how to fix it) when the README's table is not what values.yaml gives.

A documented value is one `key: value` line (maps nest by indentation) right
after one or more comment lines, the first starting with `# --`.
"""

import re
import sys
from pathlib import Path

CHART = Path(__file__).resolve().parent.parent / "deploy" / "helm" / "kedge"
START, END = "<!-- values -->", "<!-- /values -->"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):(?: (?P<value>.*))?$")


def rows(values_yaml: str) -> list[tuple[str, str, str]]:
    """(dotted key, default, description) of every documented value."""
    parents: list[tuple[int, str]] = []
    doc: list[str] | None = None
    found = []
    for number, line in enumerate(values_yaml.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("# --"):
            doc = [stripped[4:].strip()]
            continue
        if stripped.startswith("#") and doc is not None:
            doc.append(stripped[1:].strip())
            continue
        match = KEY.match(line)
        if not match:
            if stripped:
                doc = None
            continue
        indent = len(match["indent"])
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = ".".join([name for _, name in parents] + [match["key"]])
        value = (match["value"] or "").strip()
        if doc is not None:
            if not value:
                sys.exit(f"values.yaml:{number}: {path} is documented but has no one-line value")
            found.append((path, value, " ".join(doc)))
        elif value:
            sys.exit(f"values.yaml:{number}: {path} has no `# --` comment saying what it is")
        else:
            parents.append((indent, match["key"]))
        doc = None
    return found


def table(values_yaml: str) -> str:
    lines = ["| key | default | description |", "|---|---|---|"]
    for key, default, description in rows(values_yaml):
        cells = [f"`{key}`", f"`{default}`", description]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def main() -> int:
    check = sys.argv[1:] == ["--check"]
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    try:
        head, rest = readme.split(START + "\n", 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        sys.exit(f"{readme_path}: no {START} ... {END} lines to write the table between")
    wanted = f"{head}{START}\n{table((CHART / 'values.yaml').read_text())}\n{END}{tail}"
    if wanted == readme:
        return 0
    if check:
        print(
            f"{readme_path}: its values table differs from values.yaml; "
            "run scripts/chart-values-doc.py and commit the result",
            file=sys.stderr,
        )
        return 1
    readme_path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
