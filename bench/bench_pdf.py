"""PDF export against its targets: prints figures, asserts nothing.

1. One patient's PDF (`export.service.patient_pdf`: plan read and decrypted, checked, laid out,
   audited), standard A4 and then every other variant of the person's copy. Target standard p95 <= 50 ms.
2. A batch of 500 plans (`export.batch.export_batch`, one file per person, in a temp folder), with
   1 and 2 worker processes. Target >= 30 plans per second on 2 cores.
3. The same 500 plans the way teams print today: a .docx template filled per person (python-docx)
   and converted by LibreOffice headless in one `soffice --convert-to pdf` run. Printed as documents
   per second and the ratio ours / theirs. Target ratio >= 5. Skipped, with the install line, when
   `soffice` is not installed.

Usage: .venv/bin/python bench/bench_pdf.py [--plans 500] [--single 60] [--no-libreoffice]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.pop("PERFECTCARE_INSECURE_FAST_KDF", None)

from bench_store import percentile  # noqa: E402

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_content import PlanContent, person_view  # noqa: E402
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue  # noqa: E402
from perfectcare_desktop.core.clinical.plans import load_plan  # noqa: E402
from perfectcare_desktop.core.demo.demo_data import add_demo_data  # noqa: E402
from perfectcare_desktop.core.storage.store import Store  # noqa: E402
from perfectcare_desktop.export.batch import export_batch  # noqa: E402
from perfectcare_desktop.export.service import patient_pdf  # noqa: E402
from perfectcare_desktop.export.variants import PERSON_VARIANTS, STANDARD  # noqa: E402

ADMIN, PASSWORD = "bench-admin", "a long bench password"


def docx_template(path: Path) -> None:
    """A plain safety-plan template as a team would keep it: a title, a heading and list per section."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.styles["Normal"].font.name = "DejaVu Sans"
    doc.styles["Normal"].font.size = Pt(12)
    doc.add_heading("My safety plan", 0)
    doc.add_paragraph("Name: {{NAME}}")
    doc.add_paragraph("{{SECTIONS}}")
    doc.add_heading("If you are in crisis now", 1)
    doc.add_paragraph("Emergency services: Call 999. NHS 111, option 2. Samaritans 116 123. Text SHOUT to 85258.")
    doc.add_paragraph("Numbers checked on {{CHECKED}}")
    doc.save(str(path))


def fill_docx(template: Path, out: Path, name: str, sections: list[tuple[str, tuple[str, ...]]]) -> None:
    from docx import Document

    doc = Document(str(template))
    for para in list(doc.paragraphs):
        if "{{NAME}}" in para.text:
            para.text = para.text.replace("{{NAME}}", name)
        elif "{{CHECKED}}" in para.text:
            para.text = para.text.replace("{{CHECKED}}", "1 November 2026")
        elif para.text == "{{SECTIONS}}":
            for title, lines in sections:
                para.insert_paragraph_before(title, style="Heading 1")
                for line in lines:
                    para.insert_paragraph_before(line, style="List Bullet")
            para._element.getparent().remove(para._element)
    doc.save(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=500)
    parser.add_argument("--single", type=int, default=60, help="single-PDF repetitions")
    parser.add_argument("--no-libreoffice", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, _ = Store.create(root / "store", "Bench NHS Foundation Trust", ADMIN, PASSWORD)
        session = Session.sign_in(store, ADMIN, PASSWORD)
        add_demo_data(session, int(args.plans * 1.15) + 10, seed=3)
        people = []
        for p in session.patients.all():
            state = load_plan(session, p.record_id, audit_view=False)
            if state.agreed or (state.current and state.current.status == "draft"):
                people.append(p)
        people = people[: args.plans]
        print(f"store: {len(session.patients.all())} synthetic patients, {len(people)} with a plan to print")

        # 1. one PDF, each variant of the person's copy
        for variant in PERSON_VARIANTS:
            times = []
            for n in range(args.single + 3):
                patient = people[n % len(people)]
                t = time.perf_counter()
                patient_pdf(session, patient.record_id, variant)
                if n >= 3:  # the first builds load fonts and parse the logo and pictures
                    times.append((time.perf_counter() - t) * 1000)
            p95 = percentile(times, 95)
            target = ("   (target p95 <= 50 ms) " + ("target met" if p95 <= 50 else "TARGET NOT MET")
                      if variant == STANDARD else "")  # fmt: skip
            print(f"one patient PDF ({variant:<11}) p50 {statistics.median(times):5.1f} ms  p95 {p95:5.1f} ms{target}")

        # 2. batch
        rates = {}
        for workers in (1, 2):
            out = root / f"out{workers}"
            t = time.perf_counter()
            # Drafts and plans with few sections included: the bench measures layout, not the checks' choice.
            result = export_batch(session, people, "standard", out_dir=out, workers=workers, include_unresolved=True)
            elapsed = time.perf_counter() - t
            rates[workers] = result.printed / elapsed
            print(f"batch of {result.printed} plans, {workers} worker(s): {elapsed:5.1f} s = "
                  f"{rates[workers]:5.1f} plans/s" + ("   (target >= 30/s)" if workers == 2 else ""))  # fmt: skip
            shutil.rmtree(out)
        ours = max(rates.values())

        # 3. LibreOffice
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if args.no_libreoffice:
            return
        if soffice is None:
            print("LibreOffice comparison skipped: soffice is not installed. Install it with\n"
                  "  apt-get install -y --no-install-recommends libreoffice-writer-nogui\n"
                  "and install python-docx (pip install python-docx).")  # fmt: skip
            return
        layout = load_catalogue().latest()
        docs = root / "docx"
        docs.mkdir()
        template = root / "template.docx"
        docx_template(template)
        t = time.perf_counter()
        for n, p in enumerate(people, start=1):
            state = load_plan(session, p.record_id, audit_view=False)
            content = PlanContent.from_payload((state.agreed or state.current).payload)  # type: ignore[union-attr]
            sections = [(s.title, s.lines or (s.note,)) for s in person_view(layout, content)]
            fill_docx(template, docs / f"plan-{n:03d}.docx", p.details.display_name, sections)
        filled = time.perf_counter() - t
        pdfs = root / "pdf"
        profile = root / "lo-profile"
        files = sorted(str(f) for f in docs.glob("*.docx"))
        t = time.perf_counter()
        for start in range(0, len(files), 50):  # in runs of 50, as a script would, so one bad file costs 50 at most
            cmd = [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                   "--outdir", str(pdfs), *files[start : start + 50]]  # fmt: skip
            subprocess.run(cmd, capture_output=True, timeout=3600)
        converted = time.perf_counter() - t
        made = len(list(pdfs.glob("*.pdf")))
        theirs = made / converted
        print(f"LibreOffice headless from .docx: {made} of {len(files)} documents converted in {converted:5.1f} s = "
              f"{theirs:4.1f} docs/s (filling the .docx files with python-docx took {filled:.1f} s more)")  # fmt: skip
        print(f"ratio ours / theirs (conversion only): {ours / theirs:4.1f}x   (target >= 5x) "
              + ("target met" if ours / theirs >= 5 else "TARGET NOT MET"))  # fmt: skip
        store.close()


if __name__ == "__main__":
    main()
