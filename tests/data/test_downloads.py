"""Downloading a file: progress, a checksum, and a message (never a half-written file) when it fails."""
import hashlib

import pytest

from ssl_core.data.downloads import DownloadError, download_file


def test_a_file_url_downloads_with_progress_and_its_checksum(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 200_000)
    seen = []
    target = download_file(source.as_uri(), tmp_path / "copy.bin", hashlib.md5(source.read_bytes()).hexdigest(),
                           progress=lambda name, done, total: seen.append(done), chunk=65_536)
    assert target.read_bytes() == source.read_bytes()
    assert seen == sorted(seen) and seen[-1] == 200_000 and len(seen) == 4
    assert not (tmp_path / "copy.bin.part").exists()


def test_a_corrupted_download_is_refused_and_leaves_nothing(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    with pytest.raises(DownloadError, match="arrived corrupted"):
        download_file(source.as_uri(), tmp_path / "copy.bin", md5="0" * 32)
    assert not list(tmp_path.glob("copy.bin*"))


def test_no_network_says_what_to_do_instead(tmp_path):
    with pytest.raises(DownloadError, match="could not download copy.bin .* No network\\? fill the folder by hand"):
        download_file((tmp_path / "missing.bin").as_uri(), tmp_path / "copy.bin", hint="fill the folder by hand")
    assert not list(tmp_path.glob("copy.bin*"))
