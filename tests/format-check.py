#!/usr/bin/env python3
"""The formatting check: every C file of the project in PostgreSQL's layout.

PostgreSQL's layout is what its indenter pg_bsd_indent produces with the
options below (the ones PostgreSQL's own wrapper passes it).  The indenter
has to know which identifiers are type names, so this script derives that
list itself, every run, from the headers the code includes.

  tests/format-check.py            proves on a scratch copy that the check
                                   fails on a misformatted file, then checks
                                   the tree: names each file the indenter
                                   would change, with the start of its diff,
                                   and exits 1 (`make format-check`, the
                                   suite "format")
  tests/format-check.py --fix      lays the files out in place (`make format`)
  tests/format-check.py --typedefs FILE  prints the type names the indenter
                                   is given for FILE

The files: every *.c and *.h of the tree (none is generated or vendored),
outside git's directory and the test suites' output.  PG_BSD_INDENT names
another binary; tests/bootstrap.sh installs Debian 12's (package
pg-bsd-indent, version 2.1.1).
"""

import contextlib
import difflib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDENT = os.environ.get("PG_BSD_INDENT", "pg_bsd_indent")
# PostgreSQL's settings: Allman braces, tabs of 4, declarations' names at
# column 13, trailing comments at column 33, lines of at most 79 columns.
INDENT_OPTIONS = ("-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 "
                  "-nfc1 -i4 -l79 -lp -lpl -nip -npro -sac -tpg -ts4").split()
# Lines of each file's diff shown; the rest is for `make format` to fix.
DIFF_LINES = 20
PRUNED = {".git", "tmp_check", "results", "target", "node_modules"}


def fail(message):
    print("format: " + message, file=sys.stderr)
    sys.exit(1)


def project_c_files():
    """The C files to check, relative to the root, sorted."""
    found = []
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in PRUNED]
        for name in files:
            if name.endswith((".c", ".h")):
                found.append(os.path.relpath(os.path.join(top, name), ROOT))
    return sorted(found)


def command_output(argv):
    try:
        return subprocess.run(argv, check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        fail("%s failed (%s): the type names come from its headers"
             % (argv[0], e))


def include_path():
    """Where <...> headers are looked up, as the builds look them up."""
    pg_config = os.environ.get("PG_CONFIG", "pg_config")
    path = [os.path.join(ROOT, d) for d in ("protocol", "decoder", "forwarder")]
    path.append(command_output([pg_config, "--includedir-server"]))
    path.append(command_output([pg_config, "--includedir"]))
    path.append(command_output(["cc", "-print-file-name=include"]))
    path.append("/usr/include/" + command_output(["cc", "-print-multiarch"]))
    path.append("/usr/include")
    return path


INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def header_closure(sources, path):
    """Every header the sources include, directly or through other headers,
    whatever the conditions around the #include (a superset is harmless:
    a type name the code never spells does not matter to the indenter)."""
    seen, todo = set(), list(sources)
    while todo:
        current = todo.pop()
        with open(current, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for kind, name in INCLUDE_RE.findall(text):
            dirs = ([os.path.dirname(current)] if kind == '"' else []) + path
            for d in dirs:
                candidate = os.path.normpath(os.path.join(d, name))
                if os.path.isfile(candidate):
                    if candidate not in seen:
                        seen.add(candidate)
                        todo.append(candidate)
                    break
    return sorted(seen)


COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"", re.S)
# Attributes and annotations that may follow a declarator's name.
ATTRIBUTE_RE = re.compile(
    r"\b(?:__attribute__|pg_attribute_\w+|__attr_\w+|__THROW\w*|__nonnull|"
    r"__wur|__asm__|__asm|__aligned|_Alignas)\b\s*"
    r"(?:\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))?")


def strip_braces(text):
    """TEXT without what lies between balanced braces (members, bodies)."""
    out, depth = [], 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def split_top(text):
    """TEXT split at the commas outside parentheses and brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def declarator_name(declarator):
    """The name a typedef's declarator declares, or None."""
    d = ATTRIBUTE_RE.sub(" ", declarator)
    m = re.search(r"\(\s*[*^]\s*(?:const\s+|volatile\s+)*(\w+)", d)
    if m:                                   # pointer to function or array
        return m.group(1)
    m = re.search(r"\(\s*(\w+)\s*\)\s*\(", d)
    if m:                                   # parenthesised function type
        return m.group(1)
    m = re.search(r"(\w+)\s*\(", d)
    if m:                                   # function type
        return m.group(1)
    m = re.search(r"(\w+)\s*(?:\[[^\]]*\]\s*)*$", d.strip())
    return m.group(1) if m else None


def typedef_names(text):
    """The names TEXT's typedef statements declare: from `typedef` to the
    `;` outside braces, as in `typedef int64 TimestampTz;`,
    `typedef struct X {...} X, *XPtr;` or `typedef void (*fn) (int);`."""
    text = COMMENT_RE.sub(" ", text)
    text = re.sub(r"^\s*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    names = set()
    for m in re.finditer(r"\btypedef\b", text):
        depth, i = 0, m.end()
        while i < len(text):
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == ";" and depth == 0:
                break
            i += 1
        statement = strip_braces(text[m.end():i])
        for k, declarator in enumerate(split_top(statement)):
            if k > 0:
                # `X, *XPtr`: later declarators carry no type words
                declarator = "int " + declarator
            name = declarator_name(declarator)
            if name and not re.fullmatch(r"\d\w*", name):
                names.add(name)
    return names


# The C library's types our code may name through headers the closure
# reaches only conditionally; listed so the result never depends on it.
LIBC_TYPES = {"bool", "size_t", "ssize_t", "ptrdiff_t", "off_t", "pid_t",
              "time_t", "FILE", "va_list", "int8_t", "int16_t", "int32_t",
              "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t",
              "intptr_t", "uintptr_t", "sig_atomic_t", "socklen_t",
              "nfds_t", "clockid_t", "mode_t", "uid_t", "gid_t"}


def identifiers(path):
    with open(path, encoding="utf-8") as f:
        return set(re.findall(r"\b[A-Za-z_]\w*\b",
                              COMMENT_RE.sub(" ", f.read())))


class Typedefs:
    """The type names each file spells: every typedef name of the headers
    it includes (directly or not), of the files that include it (a header
    sees what its includers included first, such as postgres.h) and of
    itself, that occurs in the file.  Per file, because a name is a type
    only where its header is included: PostgreSQL's `text` is a type in the
    decoder and a variable's name in the forwarder.  Names the file never
    spells cannot change its layout."""

    def __init__(self, files):
        path = include_path()
        self.names = {}
        self.closure = {}
        for f in files:
            full = os.path.join(ROOT, f)
            self.closure[full] = set(header_closure([full], path)) | {full}

    def header_names(self, header):
        if header not in self.names:
            with open(header, encoding="utf-8", errors="replace") as f:
                self.names[header] = typedef_names(f.read())
        return self.names[header]

    def of(self, path):
        names = set(LIBC_TYPES)
        for closure in self.closure.values():
            if path in closure:
                for header in sorted(closure):
                    names |= self.header_names(header)
        return sorted(names & identifiers(path))


# The loop macros (PostgreSQL's list and hash iterations): the indenter
# takes `foreach(lc, list)` for a call and would not indent the statement
# it governs, so it is shown a `for` around the macro instead.
LOOP_MACRO_RE = r"(?:foreach\w*|forboth|forthree|forfour|forfive|for_each_\w+)"


def run_indent(text, names, workdir):
    """TEXT laid out by pg_bsd_indent, told that NAMES are type names;
    (None, its message) when it fails."""
    src, dst, lst = (os.path.join(workdir, n)
                     for n in ("in.c", "out.c", "typedefs.list"))
    with open(lst, "w", encoding="utf-8") as f:
        f.write("".join(n + "\n" for n in names))
    with open(src, "w", encoding="utf-8") as f:
        f.write(pre_indent(text))
    r = subprocess.run([INDENT] + INDENT_OPTIONS + ["-U" + lst, src, dst],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        return None, " ".join((r.stderr or r.stdout).split())
    with open(dst, encoding="utf-8") as f:
        return post_indent(f.read()), None


def pre_indent(text):
    """What the indenter would mangle, made safe: trailing blanks go, a
    loop macro's line becomes a `for` (post_indent takes it back)."""
    text = re.sub(r"[ \t]+$", "", text, flags=re.M)
    return re.sub(r"^([ \t]*)(" + LOOP_MACRO_RE + r"\(.*\))$", r"\1for (\2)",
                  text, flags=re.M)


def post_indent(text):
    """The indenter's layout of a pointer-returning function's return type
    on its own line (`List\t   *`) back to PostgreSQL's `List *`, a loop
    macro back from its `for`, and no blank line between `} table[] =` and
    the `{` of its initialiser (the indenter takes the `=` for the end of a
    declaration after an unnamed struct type)."""
    text = re.sub(r"^([ \t]*)for \((" + LOOP_MACRO_RE + r"\(.*\))\)$", r"\1\2",
                  text, flags=re.M)
    text = re.sub(r"^([A-Za-z_][^\n(]*?)[ \t]+(\*+)$", r"\1 \2", text,
                  flags=re.M)
    return re.sub(r"^(\}[^\n]*\] =)\n\n\{$", r"\1\n{", text, flags=re.M)


def check_files(directory, files, typedefs, workdir):
    """True when the indenter would change none of the FILES (relative to
    DIRECTORY, each with the type names of its namesake under the root);
    else prints each one it would change with the start of the diff, and a
    summary."""
    bad = 0
    for f in files:
        with open(os.path.join(directory, f), encoding="utf-8") as fh:
            original = fh.read()
        formatted, error = run_indent(original,
                                      typedefs.of(os.path.join(ROOT, f)),
                                      workdir)
        if error is not None:
            print("format: pg_bsd_indent failed on %s: %s" % (f, error))
            bad += 1
        elif formatted != original:
            print("format: %s is not laid out as pg_bsd_indent says:" % f)
            diff = difflib.unified_diff(original.splitlines(),
                                        formatted.splitlines(), f,
                                        f + " (formatted)", lineterm="")
            for i, line in enumerate(diff):
                if i >= DIFF_LINES:
                    break
                print(line)
            bad += 1
    if bad:
        print("format: %d of %d files need formatting: run `make format`"
              % (bad, len(files)))
        return False
    print("format: %d files laid out as pg_bsd_indent says" % len(files))
    return True


def formatted_copy(f, typedefs, workdir):
    with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
        formatted, error = run_indent(fh.read(),
                                      typedefs.of(os.path.join(ROOT, f)),
                                      workdir)
    if error is not None:
        fail("pg_bsd_indent failed on %s: %s" % (f, error))
    return formatted


def self_test(f, typedefs, workdir):
    """The check passes on a formatted copy of F and fails, naming it, once
    the copy loses the indentation of a statement; a check that cannot
    fail would pass a misformatted tree."""
    tmp = tempfile.mkdtemp(dir=workdir)
    copy = os.path.join(tmp, f)
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    formatted = formatted_copy(f, typedefs, workdir)
    with open(copy, "w", encoding="utf-8") as fh:
        fh.write(formatted)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        passed = check_files(tmp, [f], typedefs, workdir)
    if not passed:
        print(out.getvalue(), end="")
        fail("self-test: the check refused a formatted copy of " + f)
    broken, n = re.subn(r"^\t([a-z_][^\n]*;)$", r"\1", formatted, count=1,
                        flags=re.M)
    if n == 0:
        fail("self-test: %s has no indented statement to break" % f)
    with open(copy, "w", encoding="utf-8") as fh:
        fh.write(broken)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        passed = check_files(tmp, [f], typedefs, workdir)
    if passed:
        fail("self-test: the check passed %s with a statement unindented" % f)
    if "format: %s is not laid out" % f not in out.getvalue():
        print(out.getvalue(), end="")
        fail("self-test: the check failed without naming " + f)
    print("format: self-test: a statement unindented in %s fails the check"
          % f)


def fix(files, typedefs, workdir):
    """Lays out FILES in place; fails naming any the indenter fails on."""
    for f in files:
        formatted = formatted_copy(f, typedefs, workdir)
        with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
            changed = fh.read() != formatted
        if changed:
            with open(os.path.join(ROOT, f), "w", encoding="utf-8") as fh:
                fh.write(formatted)
    print("format: %d files formatted" % len(files))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if len(sys.argv) > 3 or mode not in ("", "--fix", "--typedefs"):
        print("usage: tests/format-check.py [--fix | --typedefs FILE]",
              file=sys.stderr)
        sys.exit(2)
    if shutil.which(INDENT) is None:
        fail("%s not found; tests/bootstrap.sh installs it (package "
             "pg-bsd-indent)" % INDENT)
    files = project_c_files()
    if not files:
        fail("no C files under " + ROOT)
    typedefs = Typedefs(files)
    if mode == "--typedefs":
        print("\n".join(typedefs.of(os.path.abspath(sys.argv[2]))))
        return
    with tempfile.TemporaryDirectory() as workdir:
        if mode == "--fix":
            fix(files, typedefs, workdir)
        else:
            self_test(files[0], typedefs, workdir)
            if not check_files(ROOT, files, typedefs, workdir):
                sys.exit(1)


if __name__ == "__main__":
    main()
