"""Document saves shared by OneDrive, SharePoint and Teams files (vb365_sim/restore/documents.py)."""

from __future__ import annotations

import io
import zipfile

from vb365_sim.restore import documents
from vb365_sim.restore.desk import Entry, Knobs, Selection


def test_a_zip_save_computes_each_entry_once() -> None:
    # Entries of a large folder are costly to compute: the ZIP's planned size must not walk them a second time.
    computed: list[int] = []

    def at(i: int) -> Entry:
        computed.append(i)
        return Entry(f"id-{i}", f"doc-{i}.txt", "OneDriveItem", 100 + i, "Shared/Reports")

    response = documents.save(Selection(3, at), Knobs(), as_zip=True, seed="seed")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.iter_encoded())))

    assert computed == [0, 1, 2]
    assert [(i.filename, i.file_size) for i in archive.infolist()] == [
        ("Shared/Reports/doc-0.txt", 100), ("Shared/Reports/doc-1.txt", 101), ("Shared/Reports/doc-2.txt", 102)]
