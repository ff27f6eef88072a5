"""Extracts a deployment zip the way Lambda does: files and their permission bits, nothing outside DEST.

Usage: python3 -I -S unzip.py ZIP DEST. Prints {"files": N, "bytes": UNZIPPED} on success.
"""

import json
import os
import shutil
import sys
import zipfile


def _target(dest, name):
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise ValueError("unsafe path in zip: %r" % name)
    return os.path.join(dest, *parts)


def extract(zip_path, dest):
    files = 0
    total = 0
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = _target(dest, info.filename)
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode | 0o400)
            files += 1
            total += info.file_size
    return {"files": files, "bytes": total}


if __name__ == "__main__":
    try:
        print(json.dumps(extract(sys.argv[1], sys.argv[2])))
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        sys.stderr.write("%s: %s\n" % (type(exc).__name__, exc))
        sys.exit(1)
