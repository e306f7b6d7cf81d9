"""Render `tmux capture-pane -e -p` output (text with SGR escapes) to a PNG.

Usage: ansi2png.py INPUT.ans OUTPUT.png
"""

import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
SIZE = 16
BG = (30, 30, 30)
FG = (220, 220, 220)
# xterm's 16 colours, a little softened.
PALETTE = [
    (40, 40, 40), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
]


def color256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


def parse(text):
    """Yield rows of (char, fg, bg, bold, underline) cells."""
    state = {"fg": None, "bg": None, "bold": False, "ul": False, "rev": False}
    rows = []
    for line in text.split("\n"):
        row = []
        for part in re.split(r"(\x1b\[[0-9;:]*m)", line):
            if part.startswith("\x1b["):
                codes = [int(c) if c else 0 for c in re.split("[;:]", part[2:-1])] or [0]
                i = 0
                while i < len(codes):
                    c = codes[i]
                    if c == 0:
                        state.update(fg=None, bg=None, bold=False, ul=False, rev=False)
                    elif c == 1:
                        state["bold"] = True
                    elif c == 4:
                        state["ul"] = True
                    elif c == 7:
                        state["rev"] = True
                    elif c == 22:
                        state["bold"] = False
                    elif c == 24:
                        state["ul"] = False
                    elif c == 27:
                        state["rev"] = False
                    elif 30 <= c <= 37:
                        state["fg"] = PALETTE[c - 30]
                    elif 90 <= c <= 97:
                        state["fg"] = PALETTE[c - 90 + 8]
                    elif 40 <= c <= 47:
                        state["bg"] = PALETTE[c - 40]
                    elif 100 <= c <= 107:
                        state["bg"] = PALETTE[c - 100 + 8]
                    elif c == 39:
                        state["fg"] = None
                    elif c == 49:
                        state["bg"] = None
                    elif c in (38, 48) and i + 1 < len(codes):
                        if codes[i + 1] == 5 and i + 2 < len(codes):
                            col = color256(codes[i + 2])
                            i += 2
                        elif codes[i + 1] == 2 and i + 4 < len(codes):
                            col = tuple(codes[i + 2:i + 5])
                            i += 4
                        else:
                            col = None
                        state["fg" if c == 38 else "bg"] = col
                    i += 1
                continue
            for ch in part:
                fg = state["fg"] or FG
                bg = state["bg"] or BG
                if state["rev"]:
                    fg, bg = bg, fg
                row.append((ch, fg, bg, state["bold"], state["ul"]))
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def render(rows, out):
    regular = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", SIZE)
    bold = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", SIZE)
    cw = int(round(regular.getlength("M")))
    ch = int(SIZE * 1.3)
    width = max(len(r) for r in rows)
    img = Image.new("RGB", (width * cw + 16, len(rows) * ch + 16), BG)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(rows):
        for x, (c, fg, bg, is_bold, ul) in enumerate(row):
            px, py = 8 + x * cw, 8 + y * ch
            if bg != BG:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if c != " ":
                draw.text((px, py + 2), c, font=bold if is_bold else regular, fill=fg)
            if ul:
                draw.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=fg)
    img.save(out)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        render(parse(f.read()), sys.argv[2])
