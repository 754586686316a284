"""``adfusion-edge data preview DIR``: a contact-sheet PNG of a corpus split with its labels.

Each cell shows one ad and, under it, its key labels (theme, sentiment/emotion, CTA, monetary
mention, objects, dominant colour, audience/safety, engagement buckets and CTR, modality), so a
human can check at a glance that labels match what is drawn.
"""

from __future__ import annotations

import argparse
import io
import itertools
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.shards import iter_split
from adfusion_edge.errors import ConfigError


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        from adfusion_edge.distill.data.adsynth.fonts import UI_FAMILY, available_families

        fam = available_families().get(UI_FAMILY)
        if fam is not None:
            return ImageFont.truetype(fam.regular, size)
    except Exception:  # preview must work on any corpus, even without AdSynth's fonts
        pass
    return ImageFont.load_default(size)


def label_lines(r: AdRecord, width_chars: int) -> list[str]:
    lab = r.labels
    objs = lab.get("objects") or []
    kws = lab.get("keywords") or []
    money = lab.get("monetary") or "?"
    if r.monetary_text:
        money += f' "{r.monetary_text}"'
    ctr = f"{lab.get('ctr')}" + (f" {100 * r.ctr_value:.2f}%" if r.ctr_value is not None else "")
    rows = [
        f"{r.id}  [{r.meta.get('layout', '?')}, {r.meta.get('modality', '?')}]",
        f"theme={lab.get('theme')}  {lab.get('sentiment')}/{lab.get('emotion')}",
        f"cta={lab.get('cta')}  money={money}",
        f"objects={','.join(objs) or '-'}",
        f"colour={lab.get('dominant_colour')}  {lab.get('trust_safety')}  aud={lab.get('audience')}",
        f"att={lab.get('attention')} ctr={ctr} shr={lab.get('shares')}",
        f"kw={','.join(kws) or '-'}",
    ]
    out: list[str] = []
    for row in rows:
        out += textwrap.wrap(row, width_chars, subsequent_indent="  ") or [""]
    return out


def contact_sheet(records: list[AdRecord], cols: int = 6, thumb: int = 240, lines: int = 10) -> Image.Image:
    font = _font(11)
    line_h = 13
    cell_h = thumb + 6 + lines * line_h
    rows = (len(records) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (thumb + 8) + 8, rows * (cell_h + 8) + 8), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    chars = max(20, int(thumb / 6.2))
    for i, r in enumerate(records):
        x = 8 + (i % cols) * (thumb + 8)
        y = 8 + (i // cols) * (cell_h + 8)
        if r.image is not None:
            img = Image.open(io.BytesIO(r.image)).convert("RGB")
        elif r.image_path:
            img = Image.open(r.image_path).convert("RGB")
        else:
            img = Image.new("RGB", (thumb, thumb), (200, 200, 200))
        sheet.paste(img.resize((thumb, thumb), Image.BILINEAR), (x, y))
        for j, text in enumerate(label_lines(r, chars)[:lines]):
            draw.text((x, y + thumb + 4 + j * line_h), text, fill=(20, 20, 20), font=font)
    return sheet


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="corpus directory (with manifest.json)")
    p.add_argument("--split", default="test", help="split to preview (default: test)")
    p.add_argument("--n", type=int, default=24, help="number of ads (default: 24)")
    p.add_argument("--cols", type=int, default=6, help="columns of the sheet (default: 6)")
    p.add_argument("--thumb", type=int, default=240, help="thumbnail side in px (default: 240)")
    p.add_argument("--out", default=None, help="output PNG (default: DIR/preview_<split>.png)")


def run(args: argparse.Namespace) -> int:
    if args.n < 1 or args.cols < 1 or args.thumb < 32:
        raise ConfigError("preview: --n and --cols must be >= 1 and --thumb >= 32")
    records = list(itertools.islice(iter_split(args.dir, args.split), args.n))
    if not records:
        raise ConfigError(f"preview: split {args.split!r} of {args.dir} is empty")
    out = Path(args.out) if args.out else Path(args.dir) / f"preview_{args.split}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(records, args.cols, args.thumb).save(out)
    print(f"wrote {out} ({len(records)} ads from {args.split})")
    return 0
