#!/usr/bin/env python3
"""md2man.py -- the repository's Markdown docs as manual pages (roff, man macros).

    md2man.py --name zen.json --section 5 --description "..." [--see-also "zend(8)" ...]
              --version 0.11.0 SOURCE.md OUTPUT

Small and strict: it knows the Markdown the docs use -- headings, paragraphs, "-" and "1."
lists (one level, continuation lines indented), fenced code blocks, pipe tables, inline
`code`, **bold**, *italic* and [links](target) -- and stops with file:line for anything
else, so a doc never renders half-silently. The level-1 heading is the page's title (the
NAME line comes from the arguments); text before the first level-2 heading is the
DESCRIPTION. A table becomes tagged paragraphs: its first column is the tag, the columns
between follow as "header: value" lines, the last one as plain text (fits any width).
"""
import argparse
import re
import sys


class MarkdownError(Exception):
    pass


def escape(text):
    """Plain text as roff: backslash, every hyphen (so options and keys stay ASCII
    hyphen-minus), and anything beyond ASCII as a \\[uXXXX] glyph."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 0x7E:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def inline(text, where, font="R"):
    """Inline Markdown to roff. `font` is the font to return to after a span."""
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise MarkdownError("%s: unclosed `code`" % where)
            code = escape(text[i + 1:j])
            out.append(code if font == "B" else "\\fB%s\\f%s" % (code, font))
            i = j + 1
        elif text.startswith("**", i):
            j = text.find("**", i + 2)
            if j < 0:
                raise MarkdownError("%s: unclosed **bold**" % where)
            out.append("\\fB%s\\f%s" % (inline(text[i + 2:j], where, "B"), font))
            i = j + 2
        elif ch == "*" and i + 1 < len(text) and text[i + 1] not in " *":
            j = text.find("*", i + 1)
            if j < 0:
                raise MarkdownError("%s: unclosed *emphasis*" % where)
            out.append("\\fI%s\\f%s" % (inline(text[i + 1:j], where, "I"), font))
            i = j + 1
        elif ch == "[":
            m = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)").match(text, i)
            if not m:
                out.append(escape(ch))
                i += 1
                continue
            label, target = m.group(1), m.group(2)
            out.append(inline(label, where, font))
            # A web address is worth printing; a link to another doc of the
            # repository already names it in its label.
            if re.match(r"https?://", target) and target != label:
                out.append(" <%s>" % escape(target))
            i = m.end()
        elif ch == "<" and re.match(r"<[!/]?[A-Za-z]", text[i:i + 3]) and "`" not in text[i:]:
            raise MarkdownError("%s: HTML is not supported" % where)
        else:
            out.append(escape(ch))
            i += 1
    return "".join(out)


def text_line(roff):
    """A line of running text: a leading dot or quote would be read as a request."""
    roff = roff.strip()
    if roff.startswith((".", "'")):
        roff = "\\&" + roff
    return roff


def plain(text):
    """Heading text without its Markdown, for .SH/.SS."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("`", "").replace("**", "")


def split_row(line, where):
    if not (line.startswith("|") and line.rstrip().endswith("|")):
        raise MarkdownError("%s: a table row must start and end with |" % where)
    cells, cur, code = [], [], False
    for ch in line.strip()[1:-1]:
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    cells.append("".join(cur).strip())
    return cells


LIST_ITEM = re.compile(r"^(-|\d+\.) (.*)$")


class Converter:
    def __init__(self, path, lines):
        self.path = path
        self.lines = lines
        self.out = []
        self.i = 0
        self.section_open = False

    def where(self, i=None):
        return "%s:%d" % (self.path, (self.i if i is None else i) + 1)

    def emit(self, *lines):
        self.out.extend(lines)

    def paragraph_text(self, first):
        """Joins a paragraph's lines (from `first`) until a blank line or a block."""
        parts = [first.strip()]
        self.i += 1
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if (not line.strip() or line.startswith(("#", "```", "|"))
                    or LIST_ITEM.match(line)):
                break
            parts.append(line.strip())
            self.i += 1
        return " ".join(parts)

    def heading(self, line):
        m = re.match(r"^(#{1,3}) (.+)$", line)
        if not m:
            raise MarkdownError("%s: malformed heading" % self.where())
        level, title = len(m.group(1)), plain(m.group(2))
        self.i += 1
        if level == 1:
            return
        self.section_open = True
        if level == 2:
            self.emit(".SH", text_line(escape(title.upper())))
        else:
            self.emit(".SS", text_line(escape(title)))

    def ensure_section(self):
        if not self.section_open:
            self.emit(".SH DESCRIPTION")
            self.section_open = True

    def code_block(self):
        start = self.i
        self.i += 1
        body = []
        while self.i < len(self.lines) and not self.lines[self.i].startswith("```"):
            body.append(self.lines[self.i])
            self.i += 1
        if self.i == len(self.lines):
            raise MarkdownError("%s: unclosed code block" % self.where(start))
        self.i += 1
        self.emit(".PP", ".RS 4", ".nf")
        for line in body:
            self.emit(text_line(escape(line)) if line.strip() else "")
        self.emit(".fi", ".RE")

    def table(self):
        start = self.i
        header = split_row(self.lines[self.i], self.where())
        if self.i + 1 >= len(self.lines) or not re.match(r"^\|[-:| ]+\|$",
                                                         self.lines[self.i + 1].strip()):
            raise MarkdownError("%s: a table needs a |---| line under its header"
                                % self.where())
        self.i += 2
        self.emit(".PP")
        while self.i < len(self.lines) and self.lines[self.i].startswith("|"):
            cells = split_row(self.lines[self.i], self.where())
            if len(cells) != len(header):
                raise MarkdownError("%s: %d cells, the header has %d"
                                    % (self.where(), len(cells), len(header)))
            where = self.where()
            self.emit(".TP", text_line(inline(cells[0], where)))
            if len(header) > 2:
                # The "header: value" lines start below even a short tag.
                self.emit(".br")
            for name, value in zip(header[1:-1], cells[1:-1]):
                self.emit(text_line("%s: %s" % (inline(name, where), inline(value, where))),
                          ".br")
            self.emit(text_line(inline(cells[-1], where)))
            self.i += 1
        if self.i == start + 2:
            raise MarkdownError("%s: a table without rows" % self.where(start))

    def list_block(self):
        while self.i < len(self.lines):
            m = LIST_ITEM.match(self.lines[self.i])
            if not m:
                break
            where = self.where()
            mark = "\\(bu" if m.group(1) == "-" else m.group(1)
            parts = [m.group(2)]
            self.i += 1
            while self.i < len(self.lines):
                line = self.lines[self.i]
                if not line.strip() or LIST_ITEM.match(line):
                    break
                if not line.startswith("  "):
                    raise MarkdownError("%s: a list item's next line must be indented"
                                        % self.where())
                if LIST_ITEM.match(line.strip()):
                    raise MarkdownError("%s: nested lists are not supported" % self.where())
                parts.append(line.strip())
                self.i += 1
            self.emit('.IP "%s" 4' % mark, text_line(inline(" ".join(parts), where)))
            # A blank line between items of one list is allowed.
            if (self.i + 1 < len(self.lines) and not self.lines[self.i].strip()
                    and LIST_ITEM.match(self.lines[self.i + 1])):
                self.i += 1

    def run(self):
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if not line.strip():
                self.i += 1
            elif line.startswith("#"):
                self.heading(line)
            elif line.startswith("```"):
                self.ensure_section()
                self.code_block()
            elif line.startswith("|"):
                self.ensure_section()
                self.table()
            elif LIST_ITEM.match(line):
                self.ensure_section()
                self.list_block()
            elif line.startswith((" ", "\t", ">", "<")):
                raise MarkdownError("%s: unsupported Markdown (indented text, quote or HTML)"
                                    % self.where())
            else:
                self.ensure_section()
                where = self.where()
                self.emit(".PP", text_line(inline(self.paragraph_text(line), where)))
        return self.out


def render(path, text, name, section, description, version, see_also):
    lines = text.split("\n")
    body = Converter(path, lines).run()
    head = [
        '.\\" %s(%s): generated from %s by docs/man/md2man.py; do not edit.'
        % (name, section, path),
        '.TH "%s" "%s" "" "zend %s" "zend manual"' % (escape(name.upper()), section, version),
        # No hyphenation, no stretched lines: keys and options come out whole.
        ".nh",
        ".ad l",
        ".SH NAME",
        text_line("%s \\- %s" % (escape(name), escape(description))),
    ]
    if see_also and not any(line == "SEE ALSO" for line in body):
        body += [".SH \"SEE ALSO\"", ", ".join(
            "\\fB%s\\fR(%s)" % (escape(p.split("(")[0]), p.split("(")[1].rstrip(")"))
            for p in see_also)]
    return "\n".join(head + body) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--description", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--see-also", action="append", default=[])
    ap.add_argument("--source-name", help="the source's path as the page names it")
    ap.add_argument("source")
    ap.add_argument("output")
    args = ap.parse_args()
    with open(args.source, encoding="utf-8") as f:
        text = f.read()
    try:
        page = render(args.source_name or args.source, text, args.name, args.section,
                      args.description, args.version, args.see_also)
    except MarkdownError as e:
        print("md2man: %s" % e, file=sys.stderr)
        return 1
    with open(args.output, "w", encoding="ascii") as f:
        f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
