#!/usr/bin/env python3
"""Whole-process benchmark of wasmem against its baselines, on real modules.

    .venv/bin/python tools/bench.py                  # the corpus of tools/get-corpus.sh, 7 runs each
    .venv/bin/python tools/bench.py --quick a.wasm   # given files, 3 runs
    .venv/bin/python tools/bench.py --json > bench.json

Every measurement is a fresh process (interpreter start included), timed from spawn
to reaping; the peak memory is the child's own max RSS (os.wait4), which for a
pipeline covers every process in it. Medians over --runs. Baselines: a plain Python
copy of the file, `wasm-tools objdump`, the text round trip through
`wasm-tools print | edit | wasm-tools parse`, and asc compiling the same static data.
Targets come from the project's issues and are printed beside each ratio. wasmem
commands that do not exist yet are skipped. Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: wasmem and wasm-tools live here
CACHE = Path(os.environ.get("WASMEM_CACHE", Path.home() / ".cache" / "wasmem"))
MB = 1_000_000
LARGE = 10 * MB  # the "14-32 MB modules" the round-trip target speaks of
ASC_VERSION = "0.28.20"
LAYOUT_BASE = 8  # wasmem layout's default base: asc's unoptimized start

# The plain-copy baseline: what any Python tool pays to read a module and write it back.
COPY_SRC = "import sys; open(sys.argv[2], 'wb').write(open(sys.argv[1], 'rb').read())"
ROUNDTRIP_SRC = (
    "import sys\n"
    "from wasmem.module import Module\n"
    "m = Module.from_file(sys.argv[1]) if hasattr(Module, 'from_file') "
    "else Module.from_bytes(open(sys.argv[1], 'rb').read())\n"
    "m.save(sys.argv[2])\n"
)

# The text round trip's edit, streamed so that a 400 MB .wat is not held in memory.
# The text format wants every import before any table/memory/global/func definition,
# so the moved line is emitted ahead of the definitions that preceded it.
EDIT_SRC = r'''
import re, shutil, sys
mode = sys.argv[1]
src, dst = sys.stdin.buffer, sys.stdout.buffer
IMPORT = re.compile(rb'  \(import "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*" \(memory (.*)\)\)\n')
def definition(line):
    return line.startswith(b"  (") and not line.startswith((b"  (type", b"  (rec", b"  (import"))
done = False
if mode == "import":            # (memory M) -> (import "env" "memory" (memory M))
    held = None
    for line in src:
        if line.startswith(b"  (memory "):
            dst.write(b'  (import "env" "memory" (memory ' + line[10:].rstrip(b"\n") + b")\n")
            dst.writelines(held or [])
            done = True
            break
        if held is not None or definition(line):
            held = (held or []) + [line]
        else:
            dst.write(line)
else:                           # (import "m" "n" (memory M)) -> (memory M) after the imports
    pending = None
    for line in src:
        m = IMPORT.match(line) if pending is None else None
        if m:
            pending = b"  (memory " + m.group(1) + b")\n"
            continue
        if pending is not None and definition(line):
            dst.write(pending)
            dst.write(line)
            done = True
            break
        dst.write(line)
if not done:
    sys.exit("edit: no memory %s found in the text" % ("definition" if mode == "import" else "import"))
shutil.copyfileobj(src, dst, 1 << 20)
'''
# `wasm-tools print` writes to stdout unbuffered (about one write per token: 600,000
# syscalls for a 10 MB text), which makes a literal `print | ...` pipe several times
# slower than printing to a file. The default baseline prints to a file, so the ratio
# is against the text round trip at its fastest; --text-pipe measures the pipe.
TEXT_VIA_FILE = ('"$0" print "$1" -o "$6" && "$2" "$3" "$4" < "$6" | "$0" parse -o "$5"; '
                 'status=$?; rm -f "$6"; exit $status')
TEXT_PIPE = '"$0" print "$1" | "$2" "$3" "$4" | "$0" parse -o "$5"'


# ---------------------------------------------------------------- running processes

@dataclass
class Sample:
    seconds: float
    maxrss_kb: int
    returncode: int
    stderr: str
    timed_out: bool = False


def run_once(argv: list[str], timeout: float | None = None, stdout=subprocess.DEVNULL) -> Sample:
    """Spawn, wait with wait4, time spawn-to-reap. The peak RSS comes from GNU time:
    a child of this (large) process starts with its parent's RSS high-water mark, as
    Linux carries it across exec, so only a small launcher gives a true figure."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile() as rss:
        if GNU_TIME:
            argv = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv]
        fired = threading.Event()

        def kill(pid: int) -> None:
            fired.set()
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=stdout, stderr=err, start_new_session=True, env=ENV)
        timer = threading.Timer(timeout, kill, (proc.pid,)) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
        err.seek(0)
        message = err.read()[-4000:].decode("utf-8", "replace").strip()
        maxrss = usage.ru_maxrss
        if GNU_TIME:
            lines = Path(rss.name).read_text().split()
            maxrss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return Sample(elapsed, maxrss, proc.returncode, message, fired.is_set())


@dataclass
class Measure:
    samples: list[Sample] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.samples) and all(s.returncode == 0 for s in self.samples)

    @property
    def ms(self) -> float:
        return statistics.median(s.seconds for s in self.samples) * 1000

    @property
    def min_ms(self) -> float:
        return min(s.seconds for s in self.samples) * 1000

    @property
    def samples_ms(self) -> list[float]:
        return [round(s.seconds * 1000, 1) for s in self.samples]

    @property
    def rss_kb(self) -> int:
        return max(s.maxrss_kb for s in self.samples)

    @property
    def error(self) -> str:
        bad = next((s for s in self.samples if s.returncode != 0), None)
        if bad is None:
            return ""
        if bad.timed_out:
            return "timed out"
        last = bad.stderr.splitlines()[-1] if bad.stderr else ""
        return f"exit {bad.returncode}: {last}"[:200]


def measure(label: str, argv: list[str], runs: int, timeout: float | None = None) -> Measure:
    result = Measure()
    for _ in range(runs):
        sample = run_once(argv, timeout)
        result.samples.append(sample)
        if sample.returncode != 0:  # a failing command is not worth repeating
            break
    if result.ok:
        progress(f"{label}: median {result.ms:.0f} ms over {runs} runs, peak RSS {result.rss_kb / 1024:.0f} MB")
    else:
        progress(f"{label}: FAILED ({result.error})")
    return result


def measure_interleaved(prefix: str, jobs: dict[str, list[str]], runs: int) -> dict[str, Measure]:
    """Run every job once per round, `runs` rounds; a job that fails is dropped."""
    results = {key: Measure() for key in jobs}
    for _ in range(runs):
        for key, argv in jobs.items():
            if results[key].samples and not results[key].ok:
                continue
            results[key].samples.append(run_once(argv))
    for key, result in results.items():
        if result.ok:
            progress(f"{prefix}: {key}: median {result.ms:.0f} ms over {runs} runs, "
                     f"peak RSS {result.rss_kb / 1024:.0f} MB")
        else:
            progress(f"{prefix}: {key}: FAILED ({result.error})")
    return results


def progress(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- what a module holds

def _leb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _skip_leb(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _skip_limits(data: bytes, pos: int) -> int:
    flags = data[pos]
    pos = _skip_leb(data, pos + 1)
    if flags & 1:
        pos = _skip_leb(data, pos)
    if flags & 8:  # custom page size
        pos = _skip_leb(data, pos)
    return pos


def _skip_reftype(data: bytes, pos: int) -> int:
    kind = data[pos]
    return _skip_leb(data, pos + 1) if kind in (0x63, 0x64) else pos + 1


def module_facts(path: Path) -> dict:
    """Counts of memories, imports and data segments, read without wasmem so the
    baselines can be measured before wasmem can. Supports the plain import encoding."""
    data = path.read_bytes()
    facts = {"imports": 0, "memories_imported": 0, "memories_defined": 0, "data_segments": 0}
    pos = 8
    while pos < len(data):
        section_id = data[pos]
        size, pos = _leb(data, pos + 1)
        end = pos + size
        if section_id == 2:
            count, p = _leb(data, pos)
            facts["imports"] = count
            for _ in range(count):
                for _name in range(2):
                    length, p = _leb(data, p)
                    p += length
                kind = data[p]
                p += 1
                if kind == 0x00:
                    p = _skip_leb(data, p)
                elif kind == 0x01:
                    p = _skip_limits(data, _skip_reftype(data, p))
                elif kind == 0x02:
                    facts["memories_imported"] += 1
                    p = _skip_limits(data, p)
                elif kind == 0x03:
                    p = _skip_reftype(data, p) + 1
                elif kind == 0x04:
                    p = _skip_leb(data, p + 1)
                else:
                    raise ValueError(f"{path}: import kind 0x{kind:02x} at offset 0x{p - 1:x} not understood")
        elif section_id == 5:
            facts["memories_defined"] = _leb(data, pos)[0]
        elif section_id == 11:
            facts["data_segments"] = _leb(data, pos)[0]
        pos = end
    facts["memory"] = ("imported" if facts["memories_imported"] else
                       "defined" if facts["memories_defined"] else "none")
    return facts


# ---------------------------------------------------------------- the report

@dataclass
class Row:
    file: str
    size: int | None
    command: str
    ms: float | None = None          # median wall time
    min_ms: float | None = None      # fastest run: less sensitive to a busy machine
    baseline: str = ""               # what the ratio compares against
    ratio: float | None = None
    ratio_text: str = ""
    target: str = ""
    ok: bool | None = None           # None: no target, or not measured
    note: str = ""
    rss_kb: int | None = None
    samples_ms: list | None = None   # every run's wall time, in the order run (--save keeps them)

    def result(self) -> str:
        if self.note.startswith(("skipped", "failed")) and self.ok is None:
            return self.note.split(":")[0]
        return {True: "pass", False: "FAIL", None: ""}[self.ok]


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.files: list[dict] = []
        self.meta: dict = {}

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def table(self) -> str:
        head = ["file", "size MB", "command", "median ms", "min ms", "vs", "ratio", "target", "result", "note"]
        body = []
        for r in self.rows:
            body.append([
                r.file, f"{r.size / MB:.2f}" if r.size is not None else "",
                r.command, f"{r.ms:.1f}" if r.ms is not None else "",
                f"{r.min_ms:.1f}" if r.min_ms is not None else "",
                r.baseline, r.ratio_text, r.target, r.result(), r.note,
            ])
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        numeric = {1, 3, 4}
        lines = []
        for cells in [head, ["-" * w for w in widths], *body]:
            lines.append("  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {**self.meta, "files": self.files,
                "rows": [{**r.__dict__, "result": r.result()} for r in self.rows]}


def speed_row(report, name, size, command, m: Measure, base: Measure | None, base_name: str,
              limit: float | None) -> Row:
    """A row timing `m`, with its ratio to `base` and the target ratio <= limit."""
    row = report.add(Row(name, size, command, baseline=base_name))
    if not m.ok:
        row.note = f"failed: {m.error}"
        return row
    row.ms, row.min_ms, row.rss_kb, row.samples_ms = m.ms, m.min_ms, m.rss_kb, m.samples_ms
    if base is not None and base.ok:
        row.ratio = m.ms / base.ms
        row.ratio_text = f"{row.ratio:.2f}x"
        if limit is not None:
            row.target = f"<= {limit:g}x"
            row.ok = row.ratio <= limit
    elif base is not None:
        row.note = "baseline failed"
    return row


def speedup_row(report, name, size, command, m: Measure, slow: Measure, slow_name: str, factor: float) -> Row:
    """`m` must be `factor` times faster than `slow`."""
    row = report.add(Row(name, size, command, baseline=slow_name, target=f">= {factor:g}x faster"))
    if not m.ok:
        row.note = f"failed: {m.error}"
    elif not slow.ok:
        row.ms, row.min_ms = m.ms, m.min_ms
        row.note = f"failed: {slow_name}: {slow.error}"
    else:
        row.ms, row.min_ms, row.samples_ms = m.ms, m.min_ms, m.samples_ms
        row.ratio = slow.ms / m.ms
        row.ratio_text = f"{row.ratio:.1f}x faster"
        row.ok = row.ratio >= factor
        if len(m.samples_ms) > 1 and len(slow.samples_ms) > 1:
            # the machine's noise, read off the samples: the ratio's extremes over every pairing
            low, high = min(slow.samples_ms) / max(m.samples_ms), max(slow.samples_ms) / min(m.samples_ms)
            row.note = f"samples pair to {low:.1f}-{high:.1f}x"
    return row


def memory_row(report, name, size, command, m: Measure, bare_kb: int) -> None:
    """Peak RSS above a bare interpreter, as a multiple of the input size (target < 3x,
    set on large inputs only: below a few MB the imported code outweighs the data)."""
    if not m.ok or not size:
        return
    above = max(0, m.rss_kb - bare_kb) * 1024
    row = report.add(Row(name, size, f"{command} peak RSS", baseline="file size", rss_kb=m.rss_kb))
    row.ratio = above / size
    row.ratio_text = f"{row.ratio:.2f}x"
    if size >= LARGE:
        row.target, row.ok = "< 3x", row.ratio < 3
    row.note = f"{m.rss_kb / 1024:.0f} MB peak, +{above / 2**20:.1f} MB over bare python"


# ---------------------------------------------------------------- the benchmarks

def wasmem_argv() -> list[str]:
    script = BIN / "wasmem"
    return [str(script)] if script.exists() else [sys.executable, "-m", "wasmem"]


def available_commands() -> set[str]:
    found = set()
    for command in ("info", "import-memory", "define-memory", "layout"):
        if run_once([*wasmem_argv(), command, "--help"]).returncode == 0:
            found.add(command)
    if run_once([sys.executable, "-c", "from wasmem.module import Module"]).returncode == 0:
        found.add("roundtrip")
    return found


def check_output(path: Path, original: Path | None = None) -> str:
    """A note on an output file: does it validate, is it byte-identical to the input."""
    if not path.exists():
        return "no output file"
    if original is not None:
        return "identical bytes" if path.read_bytes() == original.read_bytes() else "output DIFFERS from input"
    sample = run_once([WASM_TOOLS, "validate", str(path)])
    return "output validates" if sample.returncode == 0 else f"output INVALID: {sample.stderr.splitlines()[-1:]}"


def bench_file(report: Report, path: Path, args, tmp: Path, have: set[str], bare_kb: int, edit: Path) -> None:
    name, size = path.name, path.stat().st_size
    facts = module_facts(path)
    report.files.append({"file": name, "path": str(path), "size": size, **facts})
    progress(f"{name}: {size / MB:.2f} MB, {facts['data_segments']} data segments, "
             f"{facts['imports']} imports, memory {facts['memory']}")
    out = {key: tmp / f"{key}-{name}" for key in ("copy", "roundtrip", "rewrite", "text")}
    wasmem = wasmem_argv()
    rewrites = []
    if facts["memories_defined"]:
        rewrites.append(("import-memory", "import"))
    if facts["memories_imported"]:
        rewrites.append(("define-memory", "define"))

    # Each command and the baseline it is compared with run in turns, so that a
    # machine that gets busier or quieter meanwhile weighs on both alike.
    jobs = {"plain copy": [sys.executable, "-c", COPY_SRC, str(path), str(out["copy"])],
            "wasm-tools objdump": [WASM_TOOLS, "objdump", str(path)]}
    if "info" in have:
        jobs["wasmem info --json"] = [*wasmem, "info", "--json", str(path)]
    if "roundtrip" in have:
        jobs["wasmem roundtrip"] = [sys.executable, "-c", ROUNDTRIP_SRC, str(path), str(out["roundtrip"])]
    for command, _ in rewrites:
        if command in have:
            jobs[f"wasmem {command}"] = [*wasmem, command, str(path), "-o", str(out["rewrite"])]
    m = measure_interleaved(name, jobs, args.runs)

    copy, objdump = m["plain copy"], m["wasm-tools objdump"]
    speed_row(report, name, size, "plain copy (python)", copy, None, "", None)
    speed_row(report, name, size, "wasm-tools objdump", objdump, None, "", None)
    if "info" in have:
        info = m["wasmem info --json"]
        speed_row(report, name, size, "wasmem info --json", info, objdump, "objdump", 3)
        memory_row(report, name, size, "info", info, bare_kb)
    else:
        report.add(Row(name, size, "wasmem info --json", note="skipped: no info command"))

    if "roundtrip" in have:
        rt = m["wasmem roundtrip"]
        row = speed_row(report, name, size, "wasmem roundtrip", rt, copy, "plain copy",
                        2 if size >= LARGE else None)
        if rt.ok:
            row.note = check_output(out["roundtrip"], original=path)
            if row.note != "identical bytes":
                row.ok = False
        memory_row(report, name, size, "roundtrip", rt, bare_kb)
    else:
        report.add(Row(name, size, "wasmem roundtrip", note="skipped: no wasmem.module.Module"))

    for command, mode in rewrites:
        text = measure(f"{name}: text round trip ({mode})",
                       ["bash", "-o", "pipefail", "-c", TEXT_PIPE if args.text_pipe else TEXT_VIA_FILE,
                        WASM_TOOLS, str(path), sys.executable, str(edit), mode, str(out["text"]),
                        str(tmp / "text.wat")],
                       args.text_runs, timeout=args.text_timeout)
        text_row = speed_row(report, name, size, f"text round trip ({mode} memory)", text, None, "", None)
        if text.ok:
            text_row.note = check_output(out["text"])
        if command not in have:
            report.add(Row(name, size, f"wasmem {command}", note=f"skipped: no {command} command"))
            continue
        rw = m[f"wasmem {command}"]
        row = speed_row(report, name, size, f"wasmem {command}", rw, copy, "plain copy", 3)
        if rw.ok:
            row.note = check_output(out["rewrite"])
            if row.note != "output validates":
                row.ok = False
        speedup_row(report, name, size, f"wasmem {command}", rw, text, "text round trip", 50)
        memory_row(report, name, size, command, rw, bare_kb)
    for file in out.values():
        file.unlink(missing_ok=True)


def layout_sources(tmp: Path, strings: int, arrays: int) -> tuple[Path, Path]:
    """The same static data as a wasmem spec and as AssemblyScript globals."""
    objects, lines = [], []
    for i in range(strings):
        value = f"static string number {i} \u00e9"  # one non-ASCII char: UTF-16 matters
        objects.append({"name": f"s{i}", "type": "string", "value": value})
        lines.append(f"export const s{i}: string = {json.dumps(value)};")
    for i in range(arrays):
        value = [i * 8 + k - 40000 for k in range(8)]
        objects.append({"name": f"a{i}", "type": "Array<i32>", "value": value})
        lines.append(f"export const a{i}: i32[] = [{', '.join(map(str, value))}];")
    spec = tmp / "layout-spec.json"
    # asc numbers classes per program; in this one Array<i32> gets id 4 (the rtId in
    # the header of a0 in asc 0.28.20's output, which compare_with_asc checks).
    spec.write_text(json.dumps({"abi": "assemblyscript", "as_version": ASC_VERSION,
                                "ids": {"Array<i32>": 4}, "object": objects}))
    source = tmp / "layout.ts"
    source.write_text("\n".join(lines) + "\n")
    return spec, source


def active_image(path: Path, start: int, size: int) -> bytes:
    """memory[start:start+size] as set by the module's active i32.const data segments."""
    data = path.read_bytes()
    image = bytearray(size)
    pos = 8
    while pos < len(data):
        section_id = data[pos]
        length, pos = _leb(data, pos + 1)
        if section_id == 11:
            count, p = _leb(data, pos)
            for _ in range(count):
                flags, p = _leb(data, p)
                offset = None
                if flags in (0, 2):
                    if flags == 2:
                        p = _skip_leb(data, p)
                    if data[p] != 0x41 or data[_skip_leb(data, p + 1)] != 0x0B:
                        raise ValueError(f"{path}: data offset at 0x{p:x} is not an i32.const")
                    offset, shift, q = 0, 0, p + 1
                    while True:  # signed LEB
                        byte = data[q]
                        offset |= (byte & 0x7F) << shift
                        shift += 7
                        q += 1
                        if byte < 0x80:
                            break
                    if byte & 0x40:
                        offset -= 1 << shift
                    p = q + 1
                n, p = _leb(data, p)
                if offset is not None:
                    lo, hi = max(offset, start), min(offset + n, start + size)
                    if lo < hi:
                        image[lo - start:hi - start] = data[p + lo - offset:p + hi - offset]
                p += n
        pos += length
    return bytes(image)


def compare_with_asc(layout_bin: Path, asc_wasm: Path, base: int) -> str:
    """Ground truth: wasmem's image must be the bytes asc put at the same addresses."""
    mine = layout_bin.read_bytes()
    theirs = active_image(asc_wasm, base, len(mine))
    if mine == theirs:
        return f"image = asc's ({len(mine)} bytes)"
    first = next(i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b)
    return f"image DIFFERS from asc's at address {base + first}"


def find_asc() -> str | None:
    from oracles import AscUnavailable, asc_path

    try:
        return asc_path(ASC_VERSION, timeout=600, env=tuple(sorted(ENV.items())))
    except AscUnavailable as e:
        progress(str(e))
        return None


def measure_layout(label: str, wasmem_cmd: list[str], asc_cmd: list[str] | None, runs: int, asc_runs: int,
                   asc_timeout: float) -> tuple[Measure, Measure | None]:
    """wasmem ``runs`` times with asc's ``asc_runs`` spread evenly among them: the machine's
    speed drifts over minutes, and the ratio should compare the two under the same drift."""
    lay = Measure()
    asc_m = None if asc_cmd is None else Measure()
    asc_rounds = set() if asc_cmd is None else {i * runs // max(asc_runs, 1) for i in range(asc_runs)}
    for r in range(runs):
        if r in asc_rounds and (not asc_m.samples or asc_m.ok):
            asc_m.samples.append(run_once(asc_cmd, asc_timeout))
        if not lay.samples or lay.ok:
            lay.samples.append(run_once(wasmem_cmd))
    for name, m, n in (("wasmem layout", lay, runs), (f"asc {ASC_VERSION}", asc_m, asc_runs)):
        if m is None:
            continue
        if m.ok:
            progress(f"{label}: {name}: median {m.ms:.0f} ms over {n} runs, peak RSS {m.rss_kb / 1024:.0f} MB")
        else:
            progress(f"{label}: {name}: FAILED ({m.error})")
    return lay, asc_m


def bench_layout(report: Report, args, tmp: Path, have: set[str], bare_kb: int) -> None:
    label = f"layout {args.layout_strings} strings + {args.layout_arrays} Array<i32>"
    spec, source = layout_sources(tmp, args.layout_strings, args.layout_arrays)
    progress(f"{label}: spec {spec.stat().st_size / MB:.1f} MB, source {source.stat().st_size / MB:.1f} MB")
    report.meta["layout"] = {"strings": args.layout_strings, "arrays": args.layout_arrays,
                             "spec_bytes": spec.stat().st_size, "source_bytes": source.stat().st_size}
    asc = find_asc() if not args.no_asc else None
    if asc is None:
        why = "--no-asc" if args.no_asc else "asc unavailable (tools/get-asc.sh)"
        report.add(Row("layout", None, f"asc {ASC_VERSION}", note=f"skipped: {why}"))
    if "layout" not in have:
        report.add(Row("layout", None, "wasmem layout --format bin", note="skipped: no layout command"))
        return
    out = tmp / "layout.bin"
    wasmem_cmd = [*wasmem_argv(), "layout", str(spec), "--format", "bin", "-o", str(out)]
    asc_cmd = None if asc is None else [asc, str(source), "-o", str(tmp / "layout.wasm")]
    lay, asc_m = measure_layout(label, wasmem_cmd, asc_cmd, args.runs, args.asc_runs, args.asc_timeout)
    if asc_m is not None:
        speed_row(report, "layout", None, f"asc {ASC_VERSION} (runs={args.asc_runs})", asc_m, None, "", None)
    row = speed_row(report, "layout", None, "wasmem layout --format bin", lay, None, "", None)
    if lay.ok:
        row.target, row.ok = "< 1000 ms", lay.ms < 1000
        if asc_m is not None and asc_m.ok:
            row.note = compare_with_asc(out, tmp / "layout.wasm", LAYOUT_BASE)
            if "DIFFERS" in row.note:
                row.ok = False
        if asc_m is not None:
            speedup_row(report, "layout", None, "wasmem layout --format bin", lay, asc_m, "asc", 20)
        memory_row(report, "layout", spec.stat().st_size, "layout (vs spec size)", lay, bare_kb)


def corpus_files() -> list[Path]:
    sums = REPO / "tools" / "corpus.sha256"
    names = [line.split()[1] for line in sums.read_text().splitlines() if line.strip()]
    return [CACHE / "corpus" / n for n in names]


def main(argv: list[str] | None = None) -> int:
    import compileall

    compileall.compile_dir(str(REPO / "src"), quiet=1)  # as pip does at install time
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path,
                        help="modules to measure (default: the corpus of tools/get-corpus.sh)")
    parser.add_argument("--runs", type=int, default=7, help="runs per command, median reported (default 7)")
    parser.add_argument("--quick", action="store_true", help="3 runs, text round trip once")
    parser.add_argument("--text-runs", type=int, help="runs of the slow text round trip (default: min(runs, 3))")
    parser.add_argument("--text-pipe", action="store_true",
                        help="text round trip as one pipe `print | edit | parse` (slower: see TEXT_PIPE)")
    parser.add_argument("--text-timeout", type=float, default=300, help="seconds per text round trip")
    parser.add_argument("--asc-runs", type=int, default=3,
                        help="runs of asc in the layout benchmark, spread among wasmem's (default 3)")
    parser.add_argument("--asc-timeout", type=float, default=600, help="seconds per asc run (default 600)")
    parser.add_argument("--no-asc", action="store_true", help="do not run asc")
    parser.add_argument("--layout-strings", type=int, default=100_000)
    parser.add_argument("--layout-arrays", type=int, default=10_000)
    parser.add_argument("--no-layout", action="store_true", help="skip the layout benchmark")
    parser.add_argument("--no-files", action="store_true", help="only the layout benchmark")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--save", type=Path, metavar="PATH", help="also write the JSON document to PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = min(args.runs, 3)
        args.text_runs = args.text_runs or 1
    args.text_runs = args.text_runs or min(args.runs, 3)

    files = [] if args.no_files else (args.files or corpus_files())
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        parser.error(f"missing {', '.join(missing)} (run tools/get-corpus.sh)")
    if WASM_TOOLS is None:
        parser.error("wasm-tools not found (install the venv)")

    have = available_commands()
    progress(f"wasmem provides: {', '.join(sorted(have)) or 'nothing measurable yet'}")
    report = Report()
    bare = measure("python -c pass", [sys.executable, "-c", "pass"], args.runs)
    bare_kb = bare.rss_kb
    speed_row(report, "-", None, "python -c pass", bare, None, "", None).note = f"{bare_kb / 1024:.1f} MB RSS"
    report.meta = {"text_round_trip": "pipe" if args.text_pipe else "print -o file, edit | parse",
                   "wasm_tools": WASM_TOOLS, "rss_from": "GNU time" if GNU_TIME else "wait4 (floor: this process)",
                   "runs": args.runs, "text_runs": args.text_runs, "asc_runs": args.asc_runs,
                   "wasmem_commands": sorted(have), "bare_python_rss_kb": bare_kb,
                   "bare_python_ms": bare.ms if bare.ok else None}

    with tempfile.TemporaryDirectory(prefix="wasmem-bench-") as tmp_name:
        tmp = Path(tmp_name)
        edit = tmp / "edit_memory.py"
        edit.write_text(EDIT_SRC)
        for path in files:
            bench_file(report, path.resolve(), args, tmp, have, bare_kb, edit)
        if not args.no_layout:
            bench_layout(report, args, tmp, have, bare_kb)

    if args.save:
        args.save.write_text(json.dumps(report.as_json(), indent=1) + "\n")
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=1)
        print()
    else:
        print(report.table())
        for f in report.files:
            print(f"{f['file']}: {f['size']} bytes, {f['data_segments']} data segments, {f['imports']} imports, "
                  f"memories defined {f['memories_defined']} imported {f['memories_imported']}")
    return 0


ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
# Measure wasmem as installed for users: with its bytecode cached. Some environments
# set PYTHONDONTWRITEBYTECODE, which makes every run recompile the package (~30 ms).
ENV.pop("PYTHONDONTWRITEBYTECODE", None)
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def native_wasm_tools() -> str | None:
    """The wasm-tools binary itself: the venv's `wasm-tools` is a Python shim that
    would add an interpreter start to the native baseline."""
    from oracles import wasm_tools

    try:
        return wasm_tools(ENV["PATH"])
    except FileNotFoundError:
        return None


WASM_TOOLS = native_wasm_tools()

if __name__ == "__main__":
    sys.exit(main())
