"""A fast path for the command line: parse a plain, valid invocation without argparse.

Importing argparse and building one parser costs about 11 ms (gettext looks up
locales, the help formatter imports shutil for the terminal width): a quarter of
``wasmem info`` on a small module, paid on every call of a build step. Each
command still declares its options once, with argparse's ``add_argument``
calls; here a ``Recorder`` stands in for the parser and records them.

``parse`` handles what a build script writes: exact option names, ``--opt
value`` and ``--opt=value``, positionals in order. For anything else (``-h``,
an unknown or abbreviated option, a missing or bad value, a conflict, ``--``,
a value that starts with ``-``) it returns None and the caller lets argparse
parse the same line, so help and error messages are argparse's own.
``tests/test_fastargs.py`` checks that whenever this returns a namespace,
argparse returns the same one.
"""

from __future__ import annotations


SUPPRESS = "==SUPPRESS=="  # argparse.SUPPRESS
_SIMPLE_ACTIONS = ("store", "store_true", "store_false")
_UNSET = object()


class _Option:
    __slots__ = ("strings", "dest", "action", "type", "default", "choices", "takes_value")

    def __init__(self, names, action="store", dest=None, type=None, default=_UNSET,
                 choices=None, nargs=None, const=None, required=False, metavar=None, help=None):
        if action not in _SIMPLE_ACTIONS or nargs is not None or const is not None or required:
            raise _Unsupported
        self.strings = names
        self.action = action
        self.takes_value = action == "store"
        if not names[0].startswith("-"):  # a positional
            self.dest = names[0]
        else:
            long = [n for n in names if n.startswith("--")]
            self.dest = dest or (long[0] if long else names[0]).lstrip("-").replace("-", "_")
        if default is _UNSET:  # argparse's defaults: store_true False, store_false True
            default = {"store_true": False, "store_false": True}.get(action)
        self.type = type
        self.default = default
        self.choices = choices


class _Unsupported(Exception):
    """An option this parser does not model: the command always goes through argparse."""


class Recorder:
    """Takes the ``add_argument`` calls a command makes on its parser."""

    def __init__(self):
        self.options: list[_Option] = []
        self.groups: list[tuple[bool, list[_Option]]] = []  # (required, members)
        self.defaults: dict = {}
        self.supported = True

    def add_argument(self, *names, _group=None, **kwargs):
        try:
            option = _Option(names, **kwargs)
        except (_Unsupported, TypeError):
            self.supported = False
            return None
        self.options.append(option)
        if _group is not None:
            _group[1].append(option)
        return option

    def add_mutually_exclusive_group(self, required: bool = False):
        group = (required, [])
        self.groups.append(group)
        recorder = self

        class _Group:
            def add_argument(self, *names, **kwargs):
                return recorder.add_argument(*names, _group=group, **kwargs)

        return _Group()

    def set_defaults(self, **kwargs):
        self.defaults.update(kwargs)


class Namespace:
    """The parsed line, an attribute per option, as argparse gives it (types.SimpleNamespace
    would import the `types` module for this)."""

    def __init__(self, **values):
        self.__dict__.update(values)


def record(command_module) -> Recorder:
    rec = Recorder()
    rec.add_argument("--debug", action="store_true", default=SUPPRESS)
    command_module.add_arguments(rec)
    return rec


def parse(argv: list[str], command_module) -> Namespace | None:
    """The namespace argparse would give for ``argv`` (``[--debug] NAME ARGS...``),
    or None where argparse must decide (help, errors, unusual forms)."""
    debug = False
    i = 0
    while i < len(argv) and argv[i] == "--debug":
        debug = True
        i += 1
    if i == len(argv) or argv[i] != command_module.NAME:
        return None
    rec = record(command_module)
    if not rec.supported:
        return None
    by_string = {s: o for o in rec.options for s in o.strings if s.startswith("-")}
    positionals = [o for o in rec.options if not o.strings[0].startswith("-")]
    given: dict[_Option, str | None] = {}  # option -> its value as written (None for a flag)
    taken = 0
    rest = argv[i + 1:]
    j = 0
    while j < len(rest):
        token = rest[j]
        j += 1
        if not token.startswith("-") or token == "-":
            if taken == len(positionals):
                return None
            given[positionals[taken]] = token
            taken += 1
            continue
        name, eq, value = token.partition("=")
        option = by_string.get(name if token.startswith("--") else token)
        if option is None or option in given:
            return None
        if not option.takes_value:
            if eq:
                return None
            value = None
        elif not eq:
            if j == len(rest) or rest[j].startswith("-") and rest[j] != "-":  # (-o -: standard output)
                return None
            value = rest[j]
            j += 1
        given[option] = value
    if taken != len(positionals):
        return None
    for required, members in rec.groups:
        n = sum(o in given for o in members)
        if n > 1 or (required and n == 0):
            return None
    ns: dict = {"debug": debug, "command": command_module.NAME}
    for o in rec.options:  # defaults: the first action for a dest sets it, as in argparse
        if o.dest not in ns and o.default != SUPPRESS:
            default = o.default
            if isinstance(default, str) and o.type is not None:
                try:
                    default = o.type(default)
                except Exception:
                    return None
            ns[o.dest] = default
    for o, value in given.items():
        if o.action == "store_true":
            ns[o.dest] = True
        elif o.action == "store_false":
            ns[o.dest] = False
        else:
            if o.type is not None:
                try:
                    value = o.type(value)
                except Exception:
                    return None
            if o.choices is not None and value not in o.choices:
                return None
            ns[o.dest] = value
    ns.update(rec.defaults)
    return Namespace(**ns)
