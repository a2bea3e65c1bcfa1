"""Sections of docs/benchmarks.md that separate scripts maintain, between
`<!-- name:begin -->` and `<!-- name:end -->` markers."""
import os

BLOCKS = ("snapshots", "eviction", "memory", "failover", "instructions", "resp-replication", "security")


def markers(name):
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def replace_block(path, name, body_lines):
    """Writes `body_lines` as the section `name` of `path` (appended if new)."""
    begin, end = markers(name)
    block = "\n".join([begin, *body_lines, end])
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)
    print(f"updated {path}")


def kept_blocks(path):
    """The maintained sections of `path` as they are now (for a rewrite)."""
    text = open(path).read() if os.path.exists(path) else ""
    out = []
    for name in BLOCKS:
        begin, end = markers(name)
        if begin in text and end in text:
            out.append(text[text.index(begin):text.index(end) + len(end)])
    return out
