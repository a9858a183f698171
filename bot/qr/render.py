"""QR codes as PNG (segno) and a printable PDF with one page per building and its label.

The PDF is written directly (a few objects): the code's modules come from segno's matrix, the label
uses the PDF standard CJK font STSong-Light (every PDF viewer has it; nothing to embed).
"""

from __future__ import annotations

import io
import zlib

import segno

from bot.qr.links import BuildingCode

A4 = (595, 842)  # points
QR_SIDE = 360  # points the code spans on the page
BORDER = 4  # quiet-zone modules


def png(url: str, scale: int = 8) -> bytes:
    """The code of `url` as a PNG."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=BORDER)
    return out.getvalue()


def svg(url: str) -> str:
    """The code of `url` as inline SVG (for the console's printable page)."""
    return segno.make(url, error="m").svg_inline(scale=6, border=BORDER)


def _text(x: float, y: float, size: int, text: str) -> bytes:
    return f"BT /F1 {size} Tf {x:.1f} {y:.1f} Td <{text.encode('utf-16-be').hex()}> Tj ET\n".encode()


def _page_content(code: BuildingCode, title: str) -> bytes:
    matrix = list(segno.make(code.url, error="m").matrix)
    size = len(matrix) + 2 * BORDER
    module = QR_SIDE / size
    left, bottom = (A4[0] - QR_SIDE) / 2, 260
    parts = [b"0 g\n"]
    for row, line in enumerate(matrix):
        for col, dark in enumerate(line):
            if dark:
                x, y = left + (col + BORDER) * module, bottom + QR_SIDE - (row + BORDER + 1) * module
                parts.append(f"{x:.2f} {y:.2f} {module:.2f} {module:.2f} re\n".encode())
    parts.append(b"f\n")
    parts.append(_text(60, 720, 26, title))
    parts.append(_text(60, 680, 16, code.label))
    parts.append(_text(60, 200, 16, "微信扫一扫，反映小区里的问题"))
    parts.append(_text(60, 170, 12, f"楼栋编码 {code.unit_code}"))
    return zlib.compress(b"".join(parts))


def pdf(codes: list[BuildingCode], title: str) -> bytes:
    """One A4 page per building: its code, the community's name and the building's label."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below, once the pages object is known
    pages = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
                b"/DescendantFonts [" + str(len(objects) + 2).encode() + b" 0 R] >>")
    add(b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
        b"/FontDescriptor " + str(len(objects) + 2).encode() + b" 0 R >>")
    add(b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")
    kids = []
    for code in codes:
        content = _page_content(code, title)
        stream = add(b"<< /Length " + str(len(content)).encode() + b" /Filter /FlateDecode >>\nstream\n"
                     + content + b"\nendstream")
        kids.append(add(f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {A4[0]} {A4[1]}] "
                        f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {stream} 0 R >>".encode()))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages} 0 R >>".encode()
    objects[pages - 1] = (f"<< /Type /Pages /Count {len(kids)} /Kids ["
                          + " ".join(f"{kid} 0 R" for kid in kids) + "] >>").encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
