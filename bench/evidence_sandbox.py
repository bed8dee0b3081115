"""The sandbox's share of bench/evidence.py: normal files of a given size, the cost of scrubbing one in
the sandbox against scrubbing it in process, and what each upload bomb does to a serving worker.

- `photo_jpeg(mib)`: a 12-megapixel photo (4032 x 3024, as phones take them) with camera EXIF, at the
  JPEG quality that brings it nearest to `mib` MiB; `document_pdf(mib)`: a PDF of pages that each
  show a photo (DCT) and a line of text, with an author and a title, of about `mib` MiB.
- `sandbox_cost`: in this process, the median time to scrub one file with `inspection.scrub` (in
  process, as before the sandbox) and with `inspection.scrub_confined` (fork of the zygote, pipes,
  confinement, the same scrub in the child), and the zygote's start-up time and memory.
- `bomb_figures`: posts each file of tests/evidence/bombs.py to the real /report of the gunicorn
  worker, under the default limits, and records the status, the time to answer, and the worker's
  resident memory before, after and at its peak (VmHWM, reset before each).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]


def photo_jpeg(mib: float) -> bytes:
    """Return a 12-megapixel photo with camera EXIF whose size is nearest to `mib` MiB."""
    from PIL import ExifTags, Image

    size = (4032, 3024)
    base = Image.linear_gradient("L").resize(size)
    grain = Image.effect_noise((size[0] // 2, size[1] // 2), 48).resize(size, Image.Resampling.BILINEAR)
    photo = Image.merge("RGB", (Image.blend(base, grain, 0.5),
                                Image.blend(base.transpose(Image.Transpose.ROTATE_180), grain, 0.4),
                                grain.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Phone", "Model 12"
    best = b""
    for quality in range(80, 98):
        out = io.BytesIO()
        photo.save(out, "JPEG", quality=quality, exif=exif)
        if abs(len(out.getvalue()) - mib * MiB) < abs(len(best) - mib * MiB):
            best = out.getvalue()
    return best


def document_pdf(mib: float) -> bytes:
    """Return a PDF of about `mib` MiB: pages that each show a photo and a line of text."""
    import pikepdf
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((1400, 1000), 40).convert("RGB").save(out, "JPEG", quality=90)
    jpeg = out.getvalue()
    pdf = pikepdf.new()
    pdf.docinfo["/Author"], pdf.docinfo["/Title"] = "A. Person", "Statement with photographs"
    for number in range(max(1, round(mib * MiB / len(jpeg)))):
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[-1]
        photo = pikepdf.Stream(pdf, jpeg + bytes([number % 256]))  # each photo its own bytes
        photo.Type, photo.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        photo.Width, photo.Height, photo.BitsPerComponent = 1400, 1000, 8
        photo.ColorSpace, photo.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
        font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                    BaseFont=pikepdf.Name.Helvetica))
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=pdf.make_indirect(photo)),
                                            Font=pikepdf.Dictionary(F1=font))
        page.Contents = pdf.make_stream(
            b"q 500 0 0 357 47 400 cm /Im0 Do Q BT /F1 12 Tf 47 380 Td (Photograph %d) Tj ET" % number)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _median_seconds(action: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def sandbox_cost(samples: dict[str, bytes], rounds: int = 15) -> dict[str, Any]:
    """Return, per kind, the median seconds to scrub in process and in the sandbox; the zygote's start."""
    from reporter.evidence import inspection
    from reporter.evidence.sandbox import SANDBOX

    started = time.perf_counter()
    inspection.scrub_confined("text", b"start")
    figures: dict[str, Any] = {"start_seconds": time.perf_counter() - started}
    described = SANDBOX.describe()
    if described is not None:
        figures["zygote_rss_mib"] = _status_kib(described[0], "VmRSS") / 1024
        figures["network"] = described[1]
    for kind, data in samples.items():
        inspection.scrub(kind, data)  # warm
        in_process = _median_seconds(lambda: inspection.scrub(kind, data), rounds)  # noqa: B023
        confined = _median_seconds(lambda: inspection.scrub_confined(kind, data), rounds)  # noqa: B023
        figures[kind] = (in_process, confined)
    return figures


def _status_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key == name:
            return int(rest.split()[0])
    return 0


def bomb_figures(post: Callable[[bytes, str], tuple[int, bytes]], worker: int) -> list[dict[str, Any]]:
    """Post every bomb to the worker; return name, size, status, seconds and worker memory (MiB)."""
    sys.path.insert(0, str(ROOT))
    from tests.evidence import bombs

    cases = [(name, kind, make) for name, (kind, make) in sorted(bombs.BY_KIND.items())]
    cases += [("png-at-pixel-cap", "png", lambda: bombs.png_at_pixels(50_000_000)),
              ("png-over-pixel-cap", "png", lambda: bombs.png_at_pixels(50_010_000))]
    rows = []
    for name, kind, make in cases:
        content = make()
        Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM
        before = _status_kib(worker, "VmRSS")
        started = time.perf_counter()
        status, page = post(content, f"file.{kind}")
        seconds = time.perf_counter() - started
        rows.append({"name": name, "bytes": len(content), "status": status, "seconds": seconds,
                     "before": before / 1024, "after": _status_kib(worker, "VmRSS") / 1024,
                     "peak": _status_kib(worker, "VmHWM") / 1024,
                     "safely": b"processed safely" in page})
    return rows


def print_sandbox(cost: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Print the sandbox's cost per file and the bombs' figures."""
    print(f"\nsandbox: zygote started in {cost['start_seconds'] * 1000:.0f} ms "
          f"(RSS {cost.get('zygote_rss_mib', 0):.1f} MiB, network: {cost.get('network')}); "
          "scrubbing one file, median:")
    for kind in ("jpeg", "pdf", "text"):
        if kind in cost:
            alone, confined = cost[kind]
            print(f"  {kind:5} in process {alone * 1000:8.1f} ms, in the sandbox {confined * 1000:8.1f} ms "
                  f"(+{(confined - alone) * 1000:.1f} ms, {confined / alone:.2f}x)")
    print("\nbombs posted to /report (default limits), worker VmRSS MiB:")
    print(f"  {'file':22} {'bytes':>10} {'status':>6} {'seconds':>8} {'before':>7} {'after':>7} {'peak':>7}")
    for row in rows:
        print(f"  {row['name']:22} {row['bytes']:10d} {row['status']:6d} {row['seconds']:8.2f} "
              f"{row['before']:7.1f} {row['after']:7.1f} {row['peak']:7.1f}")
