"""Crontab parsing and rewriting for `vigil discover`.

Follows Vixie cron / cronie syntax: five time fields or an @macro, an optional user column in
system crontabs, `NAME=value` environment lines, CRON_TZ/TZ for the lines after them.
cron itself hands the command text to `sh -c` after turning unescaped `%` into newlines
(the text after the first `%` becomes stdin), so the rewrite keeps the command text as is.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shlex
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTH_NAMES = {
    n: i
    for i, n in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
DAY_NAMES = {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, lowest, highest, names allowed in place of numbers)
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, MONTH_NAMES),
    ("day of week", 0, 7, DAY_NAMES),
)
SLUG_MAX = 100
_ENV_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}\$?")
_FIELD_ITEM = re.compile(r"(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/([0-9]+))?")
# Characters that mean the command needs a shell of its own once wrapped (pipes, redirects,
# lists, expansions, globs, quoting, comments).
_SHELL_CHARS = set("|&;<>()$`*?[]{}~#'\"\\\n!")
_SHELL_WORDS = {
    "cd", "export", "source", ".", "if", "for", "while", "until", "case", "set", "exec", "eval",
    "test", "[", "[[", "ulimit", "umask", "unset", "alias", "function", "{", "!", "time",
}  # fmt: skip
# Programs that run another command, with their options that take a value.
_WRAPPERS: dict[str, set[str]] = {
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p", "--class", "--classdata"},
    "nohup": set(),
    "env": {"-u", "--unset", "-C", "--chdir"},
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"},
    "doas": {"-u", "-C"},
    "chronic": set(),
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "flock": {"-w", "-E", "--timeout", "--conflict-exit-code"},
    "setlock": set(),
}
_INTERPRETER = re.compile(
    r"(python[0-9.]*|pypy[0-9.]*|bash|sh|dash|zsh|ksh|perl|ruby|node|php[0-9.]*|rscript)"
)
_SCRIPT_SUFFIXES = (".sh", ".bash", ".py", ".pl", ".rb", ".js", ".php", ".r")

LineKind = Literal["blank", "comment", "env", "job", "skipped", "invalid"]


@dataclass
class CronJob:
    schedule: str  # As written: five fields or an @macro.
    expression: str  # Five fields for the API (macros expanded).
    command: str
    prefix: str  # The line up to the command (schedule, user, spacing), kept when rewriting.
    user: str | None = None
    timezone: str | None = None
    wrapped: bool = False  # Already runs through `vigil run`.
    slug: str = ""


@dataclass
class CronLine:
    lineno: int
    raw: str
    kind: LineKind
    job: CronJob | None = None
    env: tuple[str, str] | None = None
    notes: list[str] = field(default_factory=list)


class CronSyntaxError(ValueError):
    pass


def is_system_crontab_path(path: str | None) -> bool:
    if not path or path == "-":
        return False
    p = PurePath(os.path.abspath(path))
    return str(p) == "/etc/crontab" or "cron.d" in p.parent.parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def validate_field(text: str, index: int) -> None:
    name, low, high, names = FIELDS[index]
    for item in text.lower().split(","):
        m = _FIELD_ITEM.fullmatch(item)
        if not m:
            raise CronSyntaxError(f"bad {name} field {text!r}")
        span, step = m.group(1), m.group(2)
        if step is not None and int(step) < 1:
            raise CronSyntaxError(f"step must be at least 1 in {name} field {text!r}")
        if span == "*":
            continue
        bounds = []
        for part in span.split("-"):
            if part.isascii() and part.isdigit():
                value = int(part)
            elif part in names:
                value = names[part]
            else:
                raise CronSyntaxError(f"bad value {part!r} in {name} field {text!r}")
            if not low <= value <= high:
                raise CronSyntaxError(f"{name} value {part} is outside {low}-{high}")
            bounds.append(value)
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise CronSyntaxError(f"reversed range {span!r} in {name} field")


def plausible_user(token: str) -> bool:
    """Shaped like a login name; one with a dot must exist here (else it's likely a script)."""
    if not _USER.fullmatch(token):
        return False
    try:
        pwd.getpwnam(token)
    except KeyError:
        return "." not in token
    return True


def has_unescaped_percent(command: str) -> bool:
    return _first_unescaped_percent(command) >= 0


def _first_unescaped_percent(command: str) -> int:
    i = 0
    while i < len(command):
        if command[i] == "\\" and command[i + 1 : i + 2] == "%":
            i += 2
            continue
        if command[i] == "%":
            return i
        i += 1
    return -1


def is_vigil_wrapped(command: str) -> bool:
    words = command.split()
    return len(words) >= 2 and PurePath(words[0]).name == "vigil" and words[1] == "run"


def _parse_job(
    lineno: int, raw: str, system: bool | None, timezone: str | None, path_is_system: bool
) -> CronLine:
    stripped = raw.lstrip()
    indent = raw[: len(raw) - len(stripped)]
    line = CronLine(lineno, raw, "job")
    if stripped.startswith("@"):
        m = re.match(r"(@\S+)(\s+)(.*)$", stripped)
        if not m:
            raise CronSyntaxError("a macro needs a command after it")
        schedule, rest_start = m.group(1), indent + m.group(1) + m.group(2)
        rest = m.group(3)
        macro = schedule.lower()
        if macro == "@reboot":
            line.kind = "skipped"
            line.notes.append("@reboot runs once at boot, not on a schedule: skipped")
            return line
        if macro not in MACROS:
            raise CronSyntaxError(f"unknown macro {schedule}")
        expression = MACROS[macro]
    else:
        m = re.match(r"(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(\s+)(.*)$", stripped)
        if not m:
            raise CronSyntaxError("expected five time fields and a command")
        for index in range(5):
            validate_field(m.group(index + 1), index)
        expression = " ".join(m.group(i) for i in range(1, 6)).lower()
        schedule = stripped[: m.end(5)]
        rest_start = indent + stripped[: m.start(7)]
        rest = m.group(7)

    user = None
    um = re.match(r"(\S+)(\s+)(\S.*)$", rest)
    if system is None:
        with_user = path_is_system and um is not None and plausible_user(um.group(1))
    else:
        with_user = system
    if with_user:
        if um is None:
            raise CronSyntaxError("expected a user and a command")
        user = um.group(1)
        rest_start += um.group(1) + um.group(2)
        rest = um.group(3)
    command = rest.rstrip()
    if not command:
        raise CronSyntaxError("no command")
    job = CronJob(
        schedule=schedule,
        expression=expression,
        command=command,
        prefix=rest_start,
        user=user,
        timezone=timezone,
        wrapped=is_vigil_wrapped(command),
    )
    line.job = job
    if job.wrapped:
        line.notes.append("already runs through `vigil run`: left as is")
    if has_unescaped_percent(command):
        line.notes.append(
            "unescaped % in the command: cron turns it into a newline and feeds the text after "
            "the first % to stdin; the command is kept as written"
        )
    if command.endswith("\\"):
        line.notes.append("cron has no line continuation: the next line is a separate entry")
    return line


def parse_crontab(text: str, *, path: str | None = None, system: bool | None = None) -> list[CronLine]:
    """Parse a crontab. system=None detects the user column for /etc/crontab and cron.d files."""
    path_is_system = is_system_crontab_path(path)
    timezone: str | None = None
    lines: list[CronLine] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped:
            lines.append(CronLine(lineno, raw, "blank"))
            continue
        if stripped.startswith("#"):
            lines.append(CronLine(lineno, raw, "comment"))
            continue
        env = _ENV_LINE.match(raw)
        if env:
            name, value = env.group(1), _unquote(env.group(2))
            line = CronLine(lineno, raw, "env", env=(name, value))
            if name in ("CRON_TZ", "TZ"):
                # ":Europe/Berlin" is POSIX TZ for the same zone file; the API takes the plain name.
                timezone = value.lstrip(":") or None
                if timezone and not valid_timezone(timezone):
                    line.notes.append(f"unknown time zone {timezone!r}")
            lines.append(line)
            continue
        try:
            lines.append(_parse_job(lineno, raw, system, timezone, path_is_system))
        except CronSyntaxError as exc:
            lines.append(CronLine(lineno, raw, "invalid", notes=[f"not understood, left as is: {exc}"]))
    return lines


def valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name.lstrip(":"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_timezone() -> str:
    """The zone the cron daemon uses: the system's, from /etc/localtime or /etc/timezone."""
    try:
        target = os.path.realpath("/etc/localtime")
        marker = "/zoneinfo/"
        if marker in target:
            name = target.split(marker, 1)[1]
            if valid_timezone(name):
                return name
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            name = f.read().strip()
        if name and valid_timezone(name):
            return name
    except OSError:
        pass
    return "UTC"


# ---- slugs -------------------------------------------------------------------------------


def _words(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # Unbalanced quotes: fall back to plain splitting.
        return command.split()


def executable_name(command: str) -> str:
    """The most telling program name in a command: skip `cd x &&`, env assignments, wrappers
    such as nice/flock/timeout, and prefer the script over its interpreter."""
    words = _words(command.split("%", 1)[0]) if has_unescaped_percent(command) else _words(command)
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("&&", "||", ";", "|", "&", "(", ")", "{", "}"):
            i += 1
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            i += 1
            continue
        if word in ("cd", "export", "source", ".", "set", "umask"):
            while i < len(words) and words[i] not in ("&&", "||", ";", "|", "&"):
                i += 1
            continue
        base = PurePath(word).name
        if base in _WRAPPERS:
            value_options = _WRAPPERS[base]
            i += 1
            while i < len(words) and (words[i].startswith("-") or re.fullmatch(r"[0-9.]+[smhd]?", words[i])):
                i += 2 if words[i] in value_options else 1
            if base in ("flock", "setlock") and i < len(words):
                i += 1  # The lock file.
            continue
        if base == "run-parts":
            dirs = [w for w in words[i + 1 :] if not w.startswith("-")]
            return f"run-parts-{PurePath(dirs[0]).name}" if dirs else base
        if _INTERPRETER.fullmatch(base.lower()):
            j = i + 1
            while j < len(words) and words[j].startswith("-"):
                if words[j] == "-m" and j + 1 < len(words):
                    return words[j + 1].rsplit(".", 1)[-1]
                if words[j] == "-c":
                    return base
                j += 1
            if j < len(words) and words[j] not in ("&&", "||", ";", "|", "&", ">", "<"):
                return _script_name(words[j], words[j + 1 : j + 2])
            return base
        return _script_name(word, words[i + 1 : i + 2])
    return "job"


def _script_name(word: str, following: list[str]) -> str:
    base = PurePath(word).name
    if base == "manage.py" and following and re.fullmatch(r"[A-Za-z_][\w-]*", following[0]):
        return f"manage-{following[0]}"  # Django: the management command says more.
    for suffix in _SCRIPT_SUFFIXES:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base


def sanitize_slug(text: str, limit: int = SLUG_MAX) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug[:limit].strip("-_")


def derive_slug(command: str, salt: str = "") -> str:
    """`<program>-<6 hex>`: readable, and the hash of the command keeps it unique."""
    digest = hashlib.sha256(f"{salt}\0{command}".encode()).hexdigest()[:6]
    base = sanitize_slug(executable_name(command), SLUG_MAX - 7) or "job"
    return f"{base}-{digest}"


def assign_slugs(lines: Iterable[CronLine]) -> None:
    """Give each job to monitor a slug; a repeated command gets its schedule mixed in."""
    used: set[str] = set()
    for line in lines:
        job = line.job
        if line.kind != "job" or job is None or job.wrapped:
            continue
        salt = job.user or ""
        slug = derive_slug(job.command, salt)
        n = 0
        while slug in used:
            n += 1
            slug = derive_slug(job.command, f"{salt}\0{job.schedule}\0{n}")
        used.add(slug)
        job.slug = slug


# ---- rewriting ---------------------------------------------------------------------------


def needs_shell(command: str) -> bool:
    head = command[: _first_unescaped_percent(command)] if has_unescaped_percent(command) else command
    if any(c in _SHELL_CHARS for c in head):
        return True
    words = head.split()
    if not words:
        return False
    return words[0] in _SHELL_WORDS or bool(re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]))


def wrap_command(command: str, slug: str, vigil: str = "vigil") -> str:
    """The command as cron should run it through `vigil run`.

    Shell syntax must reach an inner shell intact, so such a command is quoted whole for
    `--shell`. The part from the first unescaped % on stays outside the quotes: cron cuts
    the line there before any shell sees it, so it must still find the % unquoted.
    """
    vigil_q = shlex.quote(vigil)
    if not needs_shell(command):
        return f"{vigil_q} run --slug {slug} -- {command}"
    cut = _first_unescaped_percent(command)
    head, stdin_part = (command[:cut], command[cut:]) if cut >= 0 else (command, "")
    return f"{vigil_q} run --slug {slug} --shell -- {shlex.quote(head)}{stdin_part}"


def rewrite_crontab(lines: list[CronLine], vigil: str = "vigil", env: dict[str, str] | None = None) -> str:
    """The crontab with every job to monitor wrapped; all other lines byte-identical.

    `env` (VIGIL_SERVER, VIGIL_PING_KEY) goes right before the first job, because cron's
    environment is nearly empty and `vigil run --slug` needs them; names the crontab
    already sets before that job are left alone.
    """
    out: list[str] = []
    defined: set[str] = set()
    env_pending = dict(env or {})
    for line in lines:
        if line.kind == "env" and line.env:
            defined.add(line.env[0])
        job = line.job
        if line.kind == "job" and job is not None and not job.wrapped and job.slug:
            for name, value in env_pending.items():
                if name not in defined:
                    out.append(f"{name}={value}")
            env_pending = {}
            out.append(job.prefix + wrap_command(job.command, job.slug, vigil))
        else:
            out.append(line.raw)
    # cron ignores a last line without a newline.
    return "\n".join(out) + "\n"
