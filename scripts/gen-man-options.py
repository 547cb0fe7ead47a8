#!/usr/bin/env python3
"""Writes the man page's per-command option lists from each command's --help, which is
generated from the same option table the command line is parsed with, so the man page
cannot miss an option. Usage: gen-man-options.py PERFSAMPLE MANPAGE [--check]
--check exits 1 (and says which command differs) instead of rewriting a stale page."""
import re
import subprocess
import sys

BEGIN = '.\\" BEGIN GENERATED OPTIONS (scripts/gen-man-options.py)\n'
END = '.\\" END GENERATED OPTIONS\n'
COMMANDS = ["record", "fold", "flamegraph", "diff", "callgraph", "report", "script",
            "export", "info", "heap-timeline", "use", "stat", "plot", "heatmap", "agent"]


def roff(text):
    """Escapes text for roff: backslashes, hyphens, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text[:1] in (".", "'"):
        text = "\\&" + text
    return text


def option_head(spec):
    """'-F, --freq HZ|max' -> bold names, italic argument."""
    parts = []
    m = re.match(r"^(-\w)?(?:, )?(--[\w-]+)?(\[?=?[^ ]*)?(?: (.*))?$", spec.strip())
    short, long_, attached, arg = m.groups() if m else (None, None, None, spec)
    if short:
        parts.append("\\fB%s\\fR" % roff(short))
    if long_:
        parts.append("\\fB%s\\fR%s" % (roff(long_), roff(attached or "")))
    head = ", ".join(parts)
    if arg:
        head += " \\fI%s\\fR" % roff(arg)
    return head


def command_section(ps, cmd):
    out = subprocess.run([ps, cmd, "--help"], capture_output=True, text=True).stdout
    lines = out.splitlines()
    res = [".SS %s" % cmd]
    opts = []  # [head, help words]
    for line in lines:
        if re.match(r"^[a-z][\w ()-]*:$", line):
            res_group = line[:-1]
            opts.append(["group", res_group])
        elif re.match(r"^  (-\w|    --)", line):
            # The help column starts at 29; a longer option spec puts it on the next line.
            split = len(line) > 29 and line[28] == " "
            spec = line[2:29].rstrip() if split else line[2:].rstrip()
            rest = line[29:].strip() if split else ""
            opts.append([spec, rest])
        elif line.startswith(" " * 29) and opts and opts[-1][0] != "group":
            opts[-1][1] = (opts[-1][1] + " " + line.strip()).strip()
    for spec, text in opts:
        if spec == "group":
            res.append(".PP\n%s" % roff(text[:1].upper() + text[1:]) + ":")
            continue
        res.append(".TP\n%s\n%s" % (option_head(spec), roff(text) or "."))
    return "\n".join(res) + "\n"


def main():
    ps, page = sys.argv[1], sys.argv[2]
    check = "--check" in sys.argv[3:]
    text = open(page, encoding="utf-8").read()
    if BEGIN not in text or END not in text:
        sys.exit("%s: no generated-options markers" % page)
    body = ".SH COMMAND OPTIONS\nEvery option of every command, as its \\fB\\-\\-help\\fR " \
           "lists it.\n" + "".join(command_section(ps, c) for c in COMMANDS)
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + body + END + tail
    if check:
        if new != text:
            old = rest.split(END, 1)[0]
            for c in COMMANDS:
                sec = command_section(ps, c)
                if sec not in old:
                    print("docs: the man page's options of '%s' are stale "
                          "(run: make man)" % c)
            sys.exit(1)
        return
    open(page, "w", encoding="utf-8").write(new)


main()
