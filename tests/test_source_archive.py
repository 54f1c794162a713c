"""The source archive that every HTML build puts in the site (``_ext/source_archive.py``).

``tests/browser/test_source_archive_download.py`` takes it from the built site and runs a chapter from it;
these are the fast checks that need no build.
"""

import pathlib
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import source_archive  # noqa: E402


def _unzip(archive, folder):
    # As unzip does: the files with the permissions the archive records (.ci/run is executable).
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(folder)
        for info in zipped.infolist():
            (folder / info.filename).chmod((info.external_attr >> 16) & 0o777)


def test_the_archive_holds_the_tracked_files_readme_first_and_is_reproducible(tmp_path):
    first = source_archive.write_archive(ROOT, tmp_path / "a")
    second = source_archive.write_archive(ROOT, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    folder = source_archive.FOLDER
    with zipfile.ZipFile(first) as zipped:
        names = zipped.namelist()
        zipped.extractall(tmp_path / "unpacked")
    assert names[0] == f"{folder}/{source_archive.README}"
    tracked = source_archive.source_files(ROOT)
    assert {f"{folder}/{name}" for name in tracked} <= set(names)
    assert f"{folder}/lib/__init__.py" in names and f"{folder}/Makefile" in names


def test_an_unpacked_archive_lists_its_files_without_git(tmp_path):
    # make book inside the unpacked folder (no .git) builds the same archive again.
    archive = source_archive.write_archive(ROOT, tmp_path)
    _unzip(archive, tmp_path / "unpacked")
    unpacked = tmp_path / "unpacked" / source_archive.FOLDER
    again = source_archive.write_archive(unpacked, tmp_path / "again")
    assert again.read_bytes() == archive.read_bytes()


def test_a_folder_that_is_not_the_book_gets_no_archive(tmp_path):
    # The student edition's source tree: no archive, so no link (it withholds the solutions).
    (tmp_path / "intro.md").write_text("# A book\n")
    assert source_archive.source_files(tmp_path) is None
    assert source_archive.write_archive(tmp_path, tmp_path / "out") is None
