"""Compile and instantiate a module in wasmtime with every import stubbed.

The one place (with memory.py and objects.py) that uses wasmtime; it is
imported lazily, inside the functions, so ``import wasmem.host.instance`` is
cheap and ``wasmem info`` never pays for the engine.

How imports are provided (``instantiate``):
* memories: a host memory of exactly the imported type (shared ones as a
  ``SharedMemory``), optionally pre-filled (``dirty_memory``) or resized and
  loaded (``host_memories``);
* AssemblyScript's ``env.abort`` / ``env.trace`` / ``env.seed`` (when their
  signatures match): Python functions (abort raises :class:`AbortError` with
  the decoded message, file, line and column);
* every other function: wasmtime's own trap stub, which names the import;
* globals, tables and tags: wasmtime's default values (zero, null refs).
Those last two come from wasmtime's linker rather than from Python objects
because wasmtime-py 50.0.1 *aborts the process* when asked for the kind of a v128
or GC reference value type (``ImportType.type.content`` on a ``(ref $t)`` global
panics with "support for non-externref and non-funcref references is not
implemented", ``str()`` of a v128 parameter's ValType with "support for v128").
The linker builds them from the engine's own types without that conversion; and
wherever the host needs a type (a function's parameters and results, a global's
type) it reads it from the module's bytes (``HostInstance.parsed``, binary/types.py).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import threading
import warnings
from typing import Any, Mapping

from ..errors import WasmError, WasmWarning
from .memory import LinearMemory

DIRTY_BYTE = 0xA5
# --dirty-memory fills at most this much of each imported memory; a module
# importing gigabytes would otherwise commit them all.
DIRTY_LIMIT = 64 << 20
# The most a memory may grow to (4 GiB: a 32-bit memory's all) and a table (10 million
# elements, 80 MB) in an instance here: a program (its start function, or an invoked
# export) that grows a memory64 or a table without end would otherwise take all the
# machine has. Past them memory.grow and table.grow return -1. (A module that declares
# more from the start may grow as far again past that: see instantiate.)
MEMORY_LIMIT = 1 << 32
TABLE_LIMIT = 10_000_000
# The longest a start function (instantiate) or a called export (call) may run, in seconds
# (None: no limit): a module whose start function never returns would otherwise hang the
# build step that validates it. wasmtime's epoch interruption: while code runs under a
# limit, a thread advances the engine's epoch every EPOCH_TICK seconds, and the store traps
# ("interrupt") once its deadline, set in ticks just before the run, has passed.
DEFAULT_TIMEOUT = 10.0
EPOCH_TICK = 0.05
_NO_DEADLINE = 1 << 40  # ticks (1,700 years): a store's deadline outside a limited run

# wasmtime-py Config switches for every proposal the spec corpus and asc use.
FEATURES = (
    "wasm_threads", "shared_memory", "wasm_multi_memory", "wasm_memory64", "wasm_simd",
    "wasm_relaxed_simd", "wasm_bulk_memory", "wasm_reference_types", "wasm_tail_call",
    "wasm_function_references", "wasm_gc", "gc_support", "wasm_exceptions",
    "wasm_wide_arithmetic", "wasm_custom_page_sizes", "wasm_multi_value",
)



class EngineError(WasmError):
    """wasmtime rejected the module, could not link it, or it trapped.

    ``stage`` is "compile", "link", "instantiate" or "call"; ``message`` is
    one line (the engine's cause), ``details`` the engine's full text with the
    wasm backtrace.
    """

    def __init__(self, message: str, *, stage: str, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.stage = stage
        self.details = details or message


class AbortError(EngineError):
    """AssemblyScript's ``abort(message, fileName, lineNumber, columnNumber)`` was called."""

    def __init__(self, text: str | None, file: str | None, line: int, column: int, *, stage: str = "call"):
        where = f" in {file}({line}:{column})" if file is not None else f" at {line}:{column}"
        super().__init__(f"abort: {text if text is not None else '(no message)'}{where}", stage=stage)
        self.text = text
        self.file = file
        self.line = line
        self.column = column


@dataclasses.dataclass(frozen=True)
class HostMemorySpec:
    """How to make the host memory for one memory import.

    ``pages``: initial size (default: the import's minimum; must respect the
    import's limits). ``data``: {address: bytes} written before instantiation.
    """

    pages: int | None = None
    data: Mapping[int, bytes] = dataclasses.field(default_factory=dict)


# -- engine ------------------------------------------------------------------

_settings = {"cache": False}


def use_compilation_cache(enabled: bool = True) -> None:
    """Keep compiled modules in wasmtime's own cache on disk (``~/.cache/wasmtime``, where
    the wasmtime CLI keeps them; its default size limits), so that compiling the same
    module again takes a fraction of a second (validate esbuild.wasm: 12 s, then 0.45 s).
    Off by default in the API; the validate and read commands turn it on
    (WASMEM_NO_CACHE=1 keeps it off)."""
    _settings["cache"] = bool(enabled)


def compilation_cache_on() -> bool:
    return _settings["cache"]


def engine():
    """The shared wasmtime Engine with every supported proposal enabled."""
    return _engine(_settings["cache"])


@functools.cache
def _engine(cache: bool):
    import atexit

    import wasmtime

    # The engines and the modules kept compiled are freed before the interpreter's teardown,
    # while wasmtime's own module can still free them (after it, each would say "Exception
    # ignored"). Nothing else is lost where this never runs: the CLI's process ends without
    # teardown (cli.entrypoint).
    atexit.unregister(_release)
    atexit.register(_release)

    config = wasmtime.Config()
    for feature in FEATURES:
        setattr(config, feature, True)
    # A module is compiled to be checked, read and poked at, not to run for long: Cranelift
    # without its optimizations compiles a fifth faster (ffmpeg-core.wasm: 33 s -> 27 s)
    # and runs every test's code as fast as far as can be measured.
    config.cranelift_opt_level = "none"
    config.epoch_interruption = True  # (see DEFAULT_TIMEOUT; every store sets its deadline)
    if cache:
        try:
            config.cache = True
        except wasmtime.WasmtimeError as e:  # (no cache folder to be had: compile every time)
            warnings.warn(f"wasmtime's compilation cache is off: {engine_message(e)[0]}", WasmWarning,
                          stacklevel=3)
    return wasmtime.Engine(config)


@functools.cache
def _shared_memory_class():
    """SharedMemory with a working ``_as_extern``.

    wasmtime-py 50.0.1 builds the extern union from ``ctypes.pointer(self.ptr())``
    (a pointer to the pointer), so Linker.define and Instance reject it with a
    ctypes TypeError. A subclass fixes it for our memories without patching
    wasmtime for everyone else in the process.
    """
    import wasmtime
    from wasmtime import _ffi as ffi

    class SharedMemory(wasmtime.SharedMemory):
        def _as_extern(self):
            union = ffi.wasmtime_extern_union(sharedmemory=self.ptr())
            return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)

    return SharedMemory


def engine_message(exc: BaseException) -> tuple[str, str]:
    """(one-line message, full text) of a wasmtime error or trap.

    wasmtime's text is "error while executing at wasm backtrace: ... Caused
    by: <cause>"; the cause lines, joined, are the message.
    """
    full = str(exc).strip()
    lines = [ln.strip() for ln in full.splitlines()]
    if "Caused by:" in lines:
        i = lines.index("Caused by:")
        head = [ln for ln in lines[:i] if ln]
        cause = [ln for ln in lines[i + 1:] if ln]
        cause = [re.sub(r"^\d+: ", "", ln) for ln in cause]
        if head and head[0].startswith("error while executing"):
            frame = next((ln for ln in head[1:] if re.match(r"0: ", ln)), None)
            where = f" (at {frame[3:].strip()})" if frame else ""
            return ": ".join(cause) + where, full
        return ": ".join(head[:1] + cause), full
    return (lines[0] if lines else type(exc).__name__), full


def _is_engine_error(exc: BaseException) -> bool:
    import wasmtime

    return isinstance(exc, (wasmtime.WasmtimeError, wasmtime.Trap))


def _kind(extern_type) -> str:
    import wasmtime

    for cls, name in ((wasmtime.FuncType, "func"), (wasmtime.MemoryType, "memory"),
                      (wasmtime.GlobalType, "global"), (wasmtime.TableType, "table"),
                      (wasmtime.TagType, "tag")):
        if isinstance(extern_type, cls):
            return name
    return "unknown"


def _overloaded(host, store, own: dict) -> dict:
    """Externs for the imports whose name another import of another type has too (the spec
    allows it: imports.wast's "overloaded"), which the linker, one item per name, cannot all
    provide: {import position: extern}. Each is made from the module's own types (a trap
    stub, a zero global, an empty table), where wasmtime-py can make it; the rest are left
    to the linker, which says what it cannot provide."""
    import wasmtime

    imports, types = host.parsed.imports, host.import_types
    by_name: dict[tuple, set] = {}
    for imp, t in zip(imports, types):
        by_name.setdefault((imp.module, imp.name), set()).add(t)
    made = {}
    for pos, (imp, t) in enumerate(zip(imports, types)):
        if pos in own or len(by_name[(imp.module, imp.name)]) < 2:
            continue
        extern = _default_extern(wasmtime, store, imp, t)
        if extern is not None:
            made[pos] = extern
    return made


def _default_extern(wasmtime, store, imp, t):
    """A trap stub, zero global or empty table for an import of type key ``t``, or None where
    wasmtime-py cannot make one (v128 and GC types, table64, tags)."""
    from ..binary.entries import LIMITS_64, TABLE_FLAGS, read_limits
    from ..binary.types import global_valtype

    vals = {"i32": (wasmtime.Val.i32, 0), "i64": (wasmtime.Val.i64, 0), "f32": (wasmtime.Val.f32, 0.0),
            "f64": (wasmtime.Val.f64, 0.0), "funcref": (wasmtime.Val.funcref, None),
            "externref": (wasmtime.Val.externref, None)}
    if t[0] == "func":
        sig = t[1]
        if sig is None or not all(x in _PASSABLE for x in (*sig.params, *sig.results)):
            return None
        text = f"unknown import: `{imp.module}::{imp.name}` has not been defined"

        def stub(*args):
            raise wasmtime.WasmtimeError(text)

        return wasmtime.Func(store, wasmtime.FuncType(_valtypes(sig.params), _valtypes(sig.results)), stub)
    if t[0] == "global":
        name = global_valtype(t[1])
        if name not in vals:
            return None
        make, zero = vals[name]
        return wasmtime.Global(store, wasmtime.GlobalType(getattr(wasmtime.ValType, name)(), t[2]), make(zero))
    if t[0] == "table":
        raw = t[1]
        elem = {0x70: "funcref", 0x6F: "externref"}.get(raw[0])
        if elem is None:  # (a typed reference: its heap type comes before the limits)
            return None
        (flags, lo, hi, _), _ = read_limits(raw, 1, TABLE_FLAGS, "table")
        if flags & LIMITS_64:
            return None
        return wasmtime.Table(store, wasmtime.TableType(getattr(wasmtime.ValType, elem)(), wasmtime.Limits(lo, hi)),
                              None)
    return None


def _linked(linker, store, imp):
    """The linker's item for an import we did not make, which must be of the import's kind.
    The linker holds one item per name: where the module imports one name as two kinds,
    the second would get the first's item (and a shared memory there trips wasmtime-py)."""
    extern = linker.get(store, imp.module, imp.name)
    kind, got = _kind(imp.type), _kind_of_extern(extern)
    if got != kind:
        raise EngineError(f"cannot provide the {kind} import `{imp.module}::{imp.name}`: the module also "
                          f"imports that name as a {got}, and wasmtime's linker holds one item per name",
                          stage="link")
    return extern


# -- instance ----------------------------------------------------------------

class HostInstance:
    """A live instance: its store, exports and the host side of its imports.

    Attributes: ``store``, ``module`` (wasmtime.Module), ``exports`` (name ->
    wasmtime extern), ``stubs`` ("module.name (kind)" for every import, in
    import order), ``imported_memories`` (a LinearMemory per memory import, in
    memory-index order; its ``name`` is "module.name"), ``trace_log`` (what
    ``env.trace`` was called with).
    """

    def __init__(self, wasm_bytes: bytes, module, store):
        self.wasm_bytes = wasm_bytes
        self.module = module
        self.store = store
        self.instance = None
        self.exports: dict[str, Any] = {}
        self.stubs: list[str] = []
        self.timeout: float | None = DEFAULT_TIMEOUT  # seconds each ``call`` may run (None: no limit)
        self.imported_memories: list[LinearMemory] = []
        self.trace_log: list[tuple[str | None, list[float]]] = []

    # -- memories
    def memory(self, key: int | str = 0) -> LinearMemory:
        """A memory by export name, "module.name" of an import, or index.

        An index counts the memory index space (imports first). A defined
        memory is reachable only through an export.
        """
        import wasmtime

        if isinstance(key, str):
            for mem in self.imported_memories:
                if mem.name == key:
                    return mem
            raw = self.exports.get(key)
            if isinstance(raw, (wasmtime.Memory, wasmtime.SharedMemory)):
                return LinearMemory(raw, self.store, name=key)
            raise WasmError(f"no memory export or import named {key!r}")
        if 0 <= key < len(self.imported_memories):
            return self.imported_memories[key]
        name = self._memory_export_name(key)
        if name is None:
            raise WasmError(f"memory {key} does not exist or is not exported")
        return LinearMemory(self.exports[name], self.store, name=name)

    def _memory_export_name(self, index: int) -> str | None:
        names = self.parsed.exports_of("memory", index)
        return names[0] if names else None

    @functools.cached_property
    def parsed(self):
        """The module's own decoding (wasmem.Module): where the host needs a type, it reads
        it here, never from wasmtime-py (see binary/types.py)."""
        from ..module import Module

        return Module.from_bytes(self.wasm_bytes)

    @functools.cached_property
    def _signatures(self) -> list:
        from ..binary.types import function_signatures

        return function_signatures(self.parsed)

    @functools.cached_property
    def import_types(self) -> list[tuple]:
        """What each import must be given, in import order: ("func", Signature), ("global",
        valtype, mutable), ("memory", Limits), or (kind, the type's bytes) for tables and tags."""
        out, func = [], 0
        for imp in self.parsed.imports:
            if imp.kind == "func":
                out.append(("func", self._signatures[func]))
                func += 1
            elif imp.kind == "global":
                out.append(("global", imp.desc.valtype, imp.desc.mutable))
            elif imp.kind == "memory":
                out.append(("memory", imp.desc.limits))
            else:
                out.append((imp.kind, imp.desc))
        return out

    # -- exports
    def export(self, name: str):
        try:
            return self.exports[name]
        except KeyError:
            raise WasmError(f"the module has no export named {name!r}") from None

    def global_value(self, name: str):
        import wasmtime

        g = self.export(name)
        if not isinstance(g, wasmtime.Global):
            raise WasmError(f"export {name!r} is a {_kind_of_extern(g)}, not a global")
        t = self.global_type(name)
        if t not in _PASSABLE:
            from ..binary.types import type_name

            raise WasmError(f"export {name!r} is a global of type {type_name(t)}, which wasmtime's Python API "
                            f"cannot read ({_PASSABLE_TEXT} only)")
        return g.value(self.store)

    def global_type(self, name: str):
        """The value type of exported global ``name``: a name (``i32``...) or a RefType."""
        from ..binary.types import global_valtype

        return global_valtype(self.parsed.global_rows()[self._export_index("global", name)][0])

    def func(self, name: str):
        import wasmtime

        f = self.export(name)
        if not isinstance(f, wasmtime.Func):
            raise WasmError(f"export {name!r} is a {_kind_of_extern(f)}, not a function")
        return f

    def signature(self, name: str):
        """What exported function ``name`` takes and returns (a binary.types.Signature)."""
        self.func(name)  # (the export exists and is a function)
        return self._signatures[self._export_index("func", name)]

    def _export_index(self, kind: str, name: str) -> int:
        for row in self.parsed.export_rows():
            if row[0] == name and row[1] == kind:
                return row[2]
        raise WasmError(f"the module has no {kind} export named {name!r}")

    def callable_params(self, name: str) -> list[str]:
        """The parameter types of exported function ``name``, which this host can call: WasmError
        where a parameter or result has a type wasmtime-py cannot convert (it would abort the
        process on a v128 parameter, and fail on a v128 or GC reference result)."""
        return list(self._callable(name).params)

    def _callable(self, name: str):
        from ..binary.types import type_name

        sig = self.signature(name)
        for what, values in (("parameter", sig.params), ("result", sig.results)):
            for i, t in enumerate(values):
                if t not in _PASSABLE:
                    raise WasmError(f"cannot call {name}: {what} {i} has type {type_name(t)}, which wasmtime's "
                                    f"Python API cannot pass ({_PASSABLE_TEXT} only)")
        return sig

    def param_types(self, name: str) -> list[str]:
        from ..binary.types import type_name

        return [type_name(t) for t in self.signature(name).params]

    def call(self, name: str, *args) -> list:
        """Call an exported function; always returns the list of results.

        Integer arguments may be given unsigned (0xFFFFFFFF for i32 -1).
        A trap raises EngineError(stage="call"), abort() an AbortError.
        """
        f = self.func(name)
        sig = self._callable(name)
        types = sig.params
        if len(args) != len(types):
            raise WasmError(f"{name} takes {len(types)} argument(s) ({', '.join(types) or 'none'}), "
                            f"{len(args)} given")
        values = [_fit(v, t, name, i) for i, (v, t) in enumerate(zip(args, types))]
        try:
            with _TimeLimit(self.store, self.timeout):
                result = f(self.store, *values)
        except EngineError:
            raise
        except Exception as e:
            if not _is_engine_error(e):
                raise
            message, full = engine_message(e)
            if _interrupted(e):
                message = _stopped(name, self.timeout)
            raise EngineError(message, stage="call", details=full) from e
        n = len(sig.results)  # (a single null reference comes back as None too)
        return [] if n == 0 else [result] if n == 1 else list(result)


def _kind_of_extern(x) -> str:
    import wasmtime

    for cls, name in ((wasmtime.Func, "func"), (wasmtime.Memory, "memory"),
                      (wasmtime.SharedMemory, "memory"), (wasmtime.Global, "global"),
                      (wasmtime.Table, "table"), (wasmtime.Tag, "tag")):
        if isinstance(x, cls):
            return name
    return "unknown"


_INT_BITS = {"i32": 32, "i64": 64}
# The value types wasmtime-py converts both ways (its wasmtime_val_t kinds).
_PASSABLE = frozenset(("i32", "i64", "f32", "f64", "funcref", "externref"))
_PASSABLE_TEXT = "i32, i64, f32, f64, funcref and externref"


def _fit(value, valtype: str, func: str, index: int):
    """A Python value checked against a wasm param type (ints made signed)."""
    bits = _INT_BITS.get(valtype)
    if bits is not None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise WasmError(f"{func}: argument {index} must be an integer ({valtype}), got {value!r}")
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise WasmError(f"{func}: argument {index} = {value} does not fit {valtype}")
        return value - (1 << bits) if value >= 1 << (bits - 1) else value
    if valtype in ("f32", "f64"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise WasmError(f"{func}: argument {index} must be a number ({valtype}), got {value!r}")
        return float(value)
    return value


def parse_value(text: str, valtype: str):
    """A command-line argument for a parameter of type ``valtype``.

    Integers: decimal or 0x hex, negative or unsigned. Floats: decimal, hex
    float (0x1.8p1), inf, nan. References: "null".
    """
    if valtype in _INT_BITS:
        try:
            return int(text, 0)
        except ValueError:
            raise WasmError(f"not an integer for {valtype}: {text!r} (decimal or 0x hex)") from None
    if valtype in ("f32", "f64"):
        import struct

        t = text.strip().lower()
        try:
            value = float.fromhex(t) if t.lstrip("+-").startswith("0x") else float(t)
            if valtype == "f32":
                struct.pack("<f", value)  # (OverflowError where it rounds past the largest f32)
        except ValueError:
            raise WasmError(f"not a number for {valtype}: {text!r}") from None
        except OverflowError:  # (float.fromhex of 0x1p9999)
            value = math.inf
        if math.isinf(value) and "inf" not in t:  # (float("1e999") is inf: a number too large, not inf)
            raise WasmError(f"{text!r} is out of range for {valtype} (infinity is spelled inf)")
        return value
    if text == "null":
        return None
    raise WasmError(f"cannot pass {text!r} for a parameter of type {valtype}")


# -- AssemblyScript host functions -------------------------------------------

def _caller_memory(caller, host: HostInstance) -> LinearMemory | None:
    """The memory AS strings live in: the caller's "memory" export, else memory 0."""
    import wasmtime

    raw = caller.get("memory")
    if isinstance(raw, (wasmtime.Memory, wasmtime.SharedMemory)):
        return LinearMemory(raw, caller, name="memory")
    if host.imported_memories:
        first = host.imported_memories[0]
        return LinearMemory(first.raw, caller, name=first.name)
    return None


def _string_or_none(mem: LinearMemory | None, ptr: int) -> str | None:
    from .objects import ReadError, read_string

    if ptr == 0 or mem is None:
        return None
    try:
        return read_string(mem, ptr & 0xFFFFFFFF)
    except ReadError:
        return f"<unreadable string at 0x{ptr & 0xFFFFFFFF:x}>"


def _as_host_functions(host: HostInstance, stage: list[str]):
    """{(module, name): (params, results, callable)} of the AS imports we implement."""
    def abort(caller, msg, file, line, column):
        mem = _caller_memory(caller, host)
        raise AbortError(_string_or_none(mem, msg), _string_or_none(mem, file), line, column, stage=stage[0])

    def trace(caller, msg, n, *values):
        host.trace_log.append((_string_or_none(_caller_memory(caller, host), msg), list(values[:max(0, n)])))

    def seed():
        return 0x5EED  # fixed, so runs are reproducible (AS seeds Math.random with it)

    return {
        ("env", "abort"): (["i32"] * 4, [], abort, True),
        ("env", "trace"): (["i32", "i32"] + ["f64"] * 5, [], trace, True),
        ("env", "seed"): ([], ["f64"], lambda: float(seed()), False),
    }


def _valtypes(names):
    import wasmtime

    return [getattr(wasmtime.ValType, n)() for n in names]


# -- instantiation -------------------------------------------------------------

def _release() -> None:
    _ticker.close()  # (no tick may reach an engine being freed)
    _compiled.clear()
    _engine.cache_clear()


class _Ticker:
    """The thread that advances the epoch of the engines whose code runs under a time
    limit: running only while some run is (the runs of several threads share it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.engines: dict = {}  # engine -> the limited runs on it now
        self.thread = None
        self.closed = False

    def enter(self, eng) -> None:
        with self.lock:
            self.engines[eng] = self.engines.get(eng, 0) + 1
            if self.thread is None and not self.closed:
                self.thread = threading.Thread(target=self._run, name="wasmem-epoch", daemon=True)
                self.thread.start()

    def leave(self, eng) -> None:
        with self.lock:
            self.engines[eng] -= 1
            if not self.engines[eng]:
                del self.engines[eng]

    def _run(self) -> None:
        wait = threading.Event().wait
        while True:
            wait(EPOCH_TICK)
            with self.lock:
                if not self.engines or self.closed:
                    self.thread = None
                    return
                for eng in self.engines:
                    eng.increment_epoch()

    def close(self) -> None:
        with self.lock:
            self.closed = True


_ticker = _Ticker()


class _TimeLimit:
    """``with _TimeLimit(store, seconds):`` code run inside traps once ``seconds`` have
    passed (None: never); outside, the store has no deadline (a caller may call the
    instance's exports through wasmtime directly, at any later time)."""

    def __init__(self, store, seconds: float | None):
        self.store, self.seconds = store, seconds

    def __enter__(self):
        if self.seconds is None:
            self.store.set_epoch_deadline(_NO_DEADLINE)
        else:
            # +1: the first tick may come at once; the limit is never shorter than asked
            self.store.set_epoch_deadline(math.ceil(self.seconds / EPOCH_TICK) + 1)
            _ticker.enter(self.store.engine)
        return self

    def __exit__(self, *exc):
        if self.seconds is not None:
            _ticker.leave(self.store.engine)
            self.store.set_epoch_deadline(_NO_DEADLINE)
        return False


def _interrupted(exc: BaseException) -> bool:
    """Whether a wasmtime error is the trap of a passed deadline (_TimeLimit)."""
    import wasmtime

    return isinstance(exc, wasmtime.Trap) and exc.trap_code == wasmtime.TrapCode.INTERRUPT


def _stopped(what: str, timeout: float) -> str:
    return f"{what} did not finish within {timeout:g} s: stopped by the time limit (--timeout; timeout= in the API)"


def _check_timeout(timeout) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0 \
            or timeout == math.inf:
        raise WasmError(f"timeout must be a number of seconds above 0, or None for no limit: not {timeout!r}")
    return float(timeout)


_COMPILED_KEPT = 4  # modules kept compiled in the process (a caller reading object after object)
_compiled: dict = {}  # (engine, module bytes) -> wasmtime.Module, oldest first


def compile_module(wasm_bytes: bytes):
    """A wasmtime.Module, or EngineError(stage="compile"). The last few modules compiled are
    kept: instantiating one again (``read_module_object`` of each of its objects) does not
    compile it again."""
    import wasmtime

    data = bytes(wasm_bytes)
    eng = engine()
    key = (eng, data)
    module = _compiled.pop(key, None)
    if module is None:
        try:
            module = wasmtime.Module(eng, data)
        except wasmtime.WasmtimeError as e:
            message, full = engine_message(e)
            raise EngineError(message, stage="compile", details=full) from e
        while len(_compiled) >= _COMPILED_KEPT:
            _compiled.pop(next(iter(_compiled), None), None)  # (another thread may evict the same)
    _compiled[key] = module  # (the newest last)
    return module


def instantiate(wasm_bytes: bytes, *, dirty_memory: bool = False,
                host_memories: Mapping[str, HostMemorySpec | int] | None = None,
                module=None, timeout: float | None = DEFAULT_TIMEOUT) -> HostInstance:
    """Compile (unless ``module`` is given), provide every import, run start.

    ``host_memories`` maps "module.name" of a memory import to a
    HostMemorySpec (or just its initial page count). Raises EngineError with
    ``stage`` compile/link/instantiate (AbortError when start calls abort),
    WasmError for a bad request.

    Memories and tables may grow to MEMORY_LIMIT and TABLE_LIMIT, or as far past what the
    module declares from the start where that is more. The start function, and each
    ``call`` of the instance, may run for ``timeout`` seconds (None: no limit); past it,
    EngineError.
    """
    timeout = _check_timeout(timeout)
    if module is None:
        module = compile_module(wasm_bytes)
    limits = dict(_USUAL)
    refused = set()
    while True:  # (each refusal names one memory or table size: raise that limit past it)
        try:
            return _instantiate(wasm_bytes, dirty_memory, host_memories, module, limits, timeout)
        except EngineError as e:
            past = _PAST_LIMITS.search(e.message) if e.stage in ("link", "instantiate") else None
            if past is None:
                raise
        n, kind = int(past[1]), past[3]
        if (n, kind) in refused or len(refused) > 8:  # refused whatever the limit: none, as in wasmtime alone
            return _instantiate(wasm_bytes, dirty_memory, host_memories, module, None, timeout)
        refused.add((n, kind))
        # the declared size, and as much again as the usual limit allows (a page: 64 KiB at most)
        limits[kind] = max(limits[kind], (n << 16 if kind == "memory" else n) + _USUAL[kind])


_USUAL = {"memory": MEMORY_LIMIT, "table": TABLE_LIMIT}  # (a store's limits, by the kind wasmtime names)
# wasmtime's refusal of an initial size past the store's limits (also of 2**32 - 1 one-byte
# pages, whatever the limit: wasmtime 50's limiter does not take that memory; then there
# are no limits, as in wasmtime alone)
_PAST_LIMITS = re.compile(r"minimum size of (\d+) (pages|elements) exceeds (memory|table) limits")


def _instantiate(wasm_bytes, dirty_memory, host_memories, module, limits: dict | None, timeout) -> HostInstance:
    import wasmtime

    eng = engine()
    store = wasmtime.Store(eng)
    store.set_epoch_deadline(_NO_DEADLINE)  # (its default, 0, would stop the first code that runs)
    if limits is not None:
        store.set_limits(memory_size=limits["memory"], table_elements=limits["table"])
    host = HostInstance(bytes(wasm_bytes), module, store)
    host.timeout = timeout
    requests = dict(host_memories or {})
    stage = ["instantiate"]  # abort() reports the stage it happened in

    linker = wasmtime.Linker(eng)
    linker.allow_shadowing = True  # a setter property in wasmtime-py
    imports = module.imports
    own: dict[int, Any] = {}  # import position -> the extern we made
    memories: dict[tuple, Any] = {}
    used: set[str] = set()
    as_funcs = _as_host_functions(host, stage)
    try:
        for pos, imp in enumerate(imports):
            ty = imp.type
            kind = _kind(ty)
            key = f"{imp.module}.{imp.name}"
            host.stubs.append(f"{key} ({kind})")
            if kind == "memory":
                # One host memory per distinct (name, type): the spec tests import
                # "spectest.memory" under several limits in one module.
                limits = ty.limits
                ident = (imp.module, imp.name, limits.min, limits.max, ty.is_shared, ty.is_64, ty.page_size_log2)
                if ident not in memories:
                    memories[ident] = _make_memory(store, ty, key, requests.get(key), dirty_memory)
                    linker.define(store, imp.module, imp.name, memories[ident])
                used.add(key)
                own[pos] = memories[ident]
                host.imported_memories.append(LinearMemory(memories[ident], store, name=key))
            elif kind == "func" and (imp.module, imp.name) in as_funcs:
                # (the signature as the module's bytes give it: wasmtime-py's types may abort the process)
                params, results, fn, caller = as_funcs[(imp.module, imp.name)]
                sig = host.import_types[pos][1]
                if sig is not None and list(sig.params) == params and list(sig.results) == results:
                    func = wasmtime.Func(store, wasmtime.FuncType(_valtypes(params), _valtypes(results)),
                                         fn, access_caller=caller)
                    linker.define(store, imp.module, imp.name, func)
                    own[pos] = func
        if set(requests) - used:
            raise WasmError(f"host_memories names {', '.join(sorted(set(requests) - used))}, "
                            "which the module does not import as a memory")
        own.update(_overloaded(host, store, own))
        linker.define_unknown_imports_as_traps(module)
        linker.define_unknown_imports_as_default_values(store, module)
        externs = [own[pos] if pos in own else _linked(linker, store, imp)
                   for pos, imp in enumerate(imports)]
    except wasmtime.WasmtimeError as e:
        message, full = engine_message(e)
        raise EngineError(message, stage="link", details=full) from e

    try:
        with _TimeLimit(store, timeout):
            host.instance = wasmtime.Instance(store, module, externs)
    except EngineError:
        raise
    except Exception as e:
        if not _is_engine_error(e):
            raise
        message, full = engine_message(e)
        if _interrupted(e):
            message = _stopped("the start function", timeout)
        raise EngineError(message, stage="instantiate", details=full) from e
    stage[0] = "call"
    host.exports = dict(host.instance.exports(store))
    return host


def _make_memory(store, ty, key: str, request, dirty: bool):
    """A host memory of the imported type (resized/loaded as requested)."""
    import wasmtime

    if isinstance(request, int):
        request = HostMemorySpec(pages=request)
    limits = ty.limits
    if request is not None and request.pages is not None:
        if request.pages < limits.min or (limits.max is not None and request.pages > limits.max):
            raise WasmError(f"{key}: {request.pages} pages is outside the import's limits "
                            f"(min {limits.min}, max {limits.max if limits.max is not None else 'none'})")
        ty = wasmtime.MemoryType(wasmtime.Limits(request.pages, limits.max), is_64=ty.is_64,
                                 shared=ty.is_shared, page_size_log2=ty.page_size_log2)
    if ty.is_shared:
        raw = _shared_memory_class()(engine(), ty)
    else:
        raw = wasmtime.Memory(store, ty)
    mem = LinearMemory(raw, store, name=key)
    if dirty:
        size = mem.data_len()
        if size > DIRTY_LIMIT:
            warnings.warn(f"{key}: filled only the first {DIRTY_LIMIT} of {size} bytes with 0x{DIRTY_BYTE:02x}",
                          WasmWarning, stacklevel=3)
        mem.fill(DIRTY_BYTE, 0, min(size, DIRTY_LIMIT))
    if request is not None:
        for address, data in request.data.items():
            mem.write(address, data)
    return raw


# -- validate ------------------------------------------------------------------

@dataclasses.dataclass
class ValidationReport:
    """What ``wasmem validate`` reports (``to_json()`` is its --json)."""

    valid: bool = False
    instantiated: bool = False
    stubs: list[str] = dataclasses.field(default_factory=list)
    results: list = dataclasses.field(default_factory=list)
    error: str | None = None
    stage: str | None = None  # where it failed: compile/link/instantiate/call
    details: str | None = None  # the engine's full text (backtrace)
    invoked: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        return {"valid": self.valid, "instantiated": self.instantiated, "stubs": list(self.stubs),
                "results": [json_value(v) for v in self.results], "error": self.error}


def json_value(v):
    """A wasm result as JSON: numbers as numbers, NaN/inf as strings, refs as null/kind."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if v is None or isinstance(v, (int, float)):
        return v
    return f"<{type(v).__name__.lower()}>"


def check_magic(data: bytes) -> None:
    """DecodeError unless ``data`` starts like a core wasm module (the header
    rule of binary/sections.py, so components are named as such)."""
    from ..binary.sections import check_header

    check_header(data)


def validate(wasm_bytes: bytes, *, dirty_memory: bool = False, invoke: str | None = None,
             args=(), host_memories=None, timeout: float | None = DEFAULT_TIMEOUT) -> ValidationReport:
    """Compile, instantiate and optionally call ``invoke(*args)``; the start function and the
    call may run for ``timeout`` seconds each (None: no limit).

    Engine failures (invalid module, link error, trap, abort) are recorded in
    the report, not raised. ``args`` may be strings (parsed by the parameter
    types, see parse_value) or numbers. A request that cannot be carried out
    (no such export, wrong argument count or syntax) raises WasmError.
    """
    report = ValidationReport()
    timeout = _check_timeout(timeout)
    try:
        module = compile_module(wasm_bytes)
        report.valid = True
        host = instantiate(wasm_bytes, dirty_memory=dirty_memory, host_memories=host_memories, module=module,
                           timeout=timeout)
        report.stubs = list(host.stubs)
        report.instantiated = True
        if invoke is not None:
            report.invoked = invoke
            types = host.callable_params(invoke)
            if len(args) != len(types):
                raise WasmError(f"{invoke} takes {len(types)} argument(s) "
                                f"({', '.join(types) or 'none'}), {len(args)} given")
            values = [parse_value(a, t) if isinstance(a, str) else a for a, t in zip(args, types)]
            report.results = host.call(invoke, *values)
    except EngineError as e:
        report.error, report.stage, report.details = e.message, e.stage, e.details
        if e.stage != "compile" and not report.stubs:
            report.stubs = _import_names(module)
    return report


def _import_names(module) -> list[str]:
    return [f"{imp.module}.{imp.name} ({_kind(imp.type)})" for imp in module.imports]
