"""The safe call dispatcher: runs a tool call against environment instances without ever `eval`-ing it.

    from funreason.envs.dispatch import Dispatcher, parse_call
    dispatcher = Dispatcher({"GorillaFileSystem": fs})      # class name -> instance (e.g. envs.resolve.EnvSpec.make_instances)
    dispatcher.execute("cd(folder='document')")             # '{"current_working_directory": "document"}'
    dispatcher.execute(ToolCall("ls", {"a": True}))         # same path for already-parsed calls
    dispatcher.execute("__import__('os').system('ls')")     # 'Error during execution: ...' and nothing runs

It stands in for BFCL's `execute_multi_turn_func_call`, which prefixes method names with a regex and calls
`eval()` on model text. A call here is one `name(args)` expression where `name` is a public method of one of the
instances and every argument (positional or keyword) is a Python literal (`ast.literal_eval`). Results are
stringified exactly as BFCL does (`format_result`) and every failure, of parsing, lookup or execution, is a result
string `"Error during execution: <message>"`, never an exception.

Parity with BFCL (checked on all 800 multi-turn ground truths by tests/envs/test_bfcl_parity.py):
- argument values are not type-checked: anything BFCL's eval would pass to the method is passed (ints where a
  float is documented, extra positional arguments, ...), and the method's own TypeError is the result;
- an unknown name gives Python's own NameError text, `name 'x' is not defined`, as BFCL's eval would;
- a syntax error gives Python's SyntaxError text for a `<string>` source, as BFCL's eval would;
- when two instances share a method name, the later class wins, as in BFCL's name mapping;
- BFCL's name blacklist (kill, exit, quit, remove, unlink, popen, Popen, run) is not reproduced: no BFCL class
  has a public method with one of those names, so it never changes a result; here they are simply unknown.
Deliberate differences, all on inputs BFCL would execute as code: arguments that are expressions (`1+2`,
`f(x)`, names) are refused instead of evaluated, and BFCL's rewrite of method names inside string arguments
(`echo(content='ls()')` gets its instance prefix spliced into the text) does not happen.

Limits (`core.sections.execution.ExecutionLimits`, the recipe's `execution:` section; `set_default_limits` installs
a stage's, each Dispatcher reads them when built). A call over a limit is an error result, `"Error during
execution: call stopped: ..."`, counted in `LIMIT_COUNTS` by kind, and the caller goes on:
- `call_timeout_s`: a `SIGALRM` interval timer (`signal.setitimer`) around the method. Python runs a signal handler
  only between bytecodes, so a single long C operation (one huge `int ** int`) finishes before the timer can stop
  it; and only the main thread receives signals, so a call made from another thread runs without a timer (every
  stage here executes calls in its main thread; the size caps still apply everywhere). The timeout is a
  `BaseException`, so a tool's own `except Exception` cannot swallow it. An earlier timer (of the caller) is
  restored afterwards.
- `max_arg_chars`: the length of a call string (refused before parsing) or of a parsed call's argument values.
- `set_aside_after_timeouts` (synthesis only, inside `setting_tools_aside()`): a tool whose calls are stopped by
  the time limit that many times in a row is set aside for the rest of the block, named in one warning line:
  later calls to it are `"call stopped: ..."` errors at once, `is_set_aside` lets synthesis leave it out of the
  API graph and the sampler, and `take_timeout_counts` hands the counts to stats.json. A tool that never answers
  would otherwise cost the time limit hundreds of times (graph probing, sampling, phase III, replays). Outside
  the block (evaluation, scoring, RL) every call runs: a timeout there comes from its arguments.
- `max_precision`: checked before BFCL's MathAPI `logarithm`/`square_root`, which set mpmath/decimal precision
  from their `precision` argument: `square_root(number=2, precision=1000000)` is one libmpdec call of 16 s that
  no timer stops (and mpmath's precision is process-global). Other slow calls, `power(base=10,
  exponent=10000000)` (CPython checks signals inside big-integer multiplication) or a million-digit logarithm,
  are stopped by the timer.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import signal
import sys
import threading
from collections import Counter
from typing import Any

from funreason.chat.calls import ToolCall
from funreason.core.sections.execution import ExecutionLimits
from funreason.envs.base import tool_names
from funreason.envs.defaults import fresh_defaults

__all__ = [
    "ERROR_PREFIX",
    "LIMIT_COUNTS",
    "Dispatcher",
    "format_result",
    "is_execution_error",
    "is_limit_error",
    "is_set_aside",
    "parse_call",
    "set_default_limits",
    "setting_tools_aside",
    "take_timeout_counts",
]

ERROR_PREFIX = "Error during execution: "
_SHOWN_CHARS = 200  # how much of an offending expression an error message quotes


_ATOMIC = (str, int, float, bool, type(None), bytes, complex)


def _fresh(value: Any) -> Any:
    """`value`, deep-copied unless immutable (most arguments are strings and numbers: copying them is a third of
    a replay's time)."""
    return value if type(value) in _ATOMIC else copy.deepcopy(value)


def _error(message: str) -> str:
    return f"{ERROR_PREFIX}{message}"


STOPPED = "call stopped: "
_DEFAULT_LIMITS = ExecutionLimits()
# Calls stopped by a limit in this process, by kind ("timeout", "arg_size", "precision").
LIMIT_COUNTS: Counter = Counter()


def set_default_limits(limits: ExecutionLimits | None) -> None:
    """Install a stage's limits (the recipe's `execution:` section) for every Dispatcher built afterwards."""
    global _DEFAULT_LIMITS
    _DEFAULT_LIMITS = limits if limits is not None else ExecutionLimits()


def is_limit_error(result: object) -> bool:
    """Whether a result string is a call stopped by an execution limit (a kind of `is_execution_error`)."""
    return isinstance(result, str) and result.startswith(ERROR_PREFIX + STOPPED)


def _stopped(kind: str, message: str) -> str:
    LIMIT_COUNTS[kind] += 1
    return _error(STOPPED + message)


# --- tools set aside for timing out (synthesis; see the module docstring) ---------------------------------------
_set_aside_after = 0  # consecutive timeouts that set a tool aside; 0 outside `setting_tools_aside()`
_TIMEOUT_STREAKS: Counter = Counter()  # "Class.tool" -> its calls stopped by the time limit in a row
SET_ASIDE: dict[str, int] = {}  # "Class.tool" -> the streak that set it aside, in this process
_UNREPORTED: Counter = Counter()  # what `take_timeout_counts` has not handed out yet


@contextlib.contextmanager
def setting_tools_aside(after: int | None = None):
    """Within the block (a synthesis run in this process), set aside tools that keep timing out: after `after`
    consecutive timeouts (default: the installed limits' `set_aside_after_timeouts`; 0 = never). Starts afresh."""
    global _set_aside_after
    previous = _set_aside_after
    _set_aside_after = _DEFAULT_LIMITS.set_aside_after_timeouts if after is None else after
    _TIMEOUT_STREAKS.clear()
    SET_ASIDE.clear()
    _UNREPORTED.clear()
    try:
        yield
    finally:
        _set_aside_after = previous


def _tool_key(instances: dict[str, Any], name: str) -> str | None:
    owner = None
    for class_name, instance in instances.items():  # later classes win, as in the Dispatcher's name mapping
        if name in tool_names(instance):
            owner = class_name
    return None if owner is None else f"{owner}.{name}"


def is_set_aside(instances: dict[str, Any], name: str) -> bool:
    """Whether the tool `name` of these instances has been set aside (always False outside `setting_tools_aside`)."""
    return bool(_set_aside_after and SET_ASIDE) and _tool_key(instances, name) in SET_ASIDE


def _note_call(key: str, timed_out: bool, timeout: float) -> None:
    """Track a tool's run of timeouts; set it aside (one warning line) when the run reaches the limit."""
    if not timed_out:
        _TIMEOUT_STREAKS.pop(key, None)
        return
    _UNREPORTED["calls_stopped_by_timeout"] += 1
    _TIMEOUT_STREAKS[key] += 1
    if _TIMEOUT_STREAKS[key] >= _set_aside_after and key not in SET_ASIDE:
        SET_ASIDE[key] = _TIMEOUT_STREAKS[key]
        _UNREPORTED[f"tools_set_aside:{key}"] += 1
        print(
            f"warning: tool {key}() set aside for the rest of this run: {SET_ASIDE[key]} calls in a row stopped by "
            f"the {timeout:g} s time limit (execution.call_timeout_s, execution.set_aside_after_timeouts); the run "
            "goes on with the other tools",
            file=sys.stderr,
            flush=True,
        )


def take_timeout_counts() -> dict[str, int]:
    """Calls stopped by the time limit and tools set aside (`tools_set_aside:Class.tool`: 1) since the last take, in
    this process: synthesis adds them to a finished trajectory's counters, so stats.json sums them over workers."""
    counts = dict(_UNREPORTED)
    _UNREPORTED.clear()
    return counts


class _CallTimeout(BaseException):
    """Raised by the SIGALRM handler inside a tool call; a BaseException so that `except Exception` in a tool
    cannot swallow it."""


def _on_alarm(signum, frame):
    raise _CallTimeout


_handler_installed = 0  # depth of `call_timer_handler()` blocks in this process


def _value_chars(value: Any, budget: int) -> int:
    """Characters of a literal value's items (strings, numbers, containers), stopping once over `budget`."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (bytes, bytearray)):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 1
        elif isinstance(item, int):
            total += max(1, item.bit_length() * 3 // 10)
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1
            stack.extend(item)
        else:
            total += 8
    return total


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _guard(class_name: str, name: str, args: tuple, kwargs: dict, limits: ExecutionLimits) -> str | None:
    """An error result for a call to a BFCL method that one C call makes slow past any timer, arguments over the
    limits; None otherwise."""
    if class_name != "MathAPI":
        return None
    if name in ("logarithm", "square_root") and limits.max_precision:
        position = 2 if name == "logarithm" else 1
        precision = _number(kwargs.get("precision", args[position] if len(args) > position else None))
        if precision is not None and precision > limits.max_precision:
            return _stopped(
                "precision",
                f"precision={precision!r} is over the limit of {limits.max_precision} digits (execution.max_precision)",
            )
    return None


def _run_with_timeout(function, timeout: float):
    """`function()` under a SIGALRM timer of `timeout` seconds when possible (see the module docstring)."""
    if not timeout or threading.current_thread() is not threading.main_thread():
        return function()
    installed = _handler_installed > 0  # inside `call_timer_handler()`: the handler is already ours
    previous_handler = None if installed else signal.signal(signal.SIGALRM, _on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return function()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if not installed:
            signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:  # the caller's own timer goes on (less the time this call took is not tracked)
            signal.setitimer(signal.ITIMER_REAL, previous_delay, previous_interval)


@contextlib.contextmanager
def call_timer_handler():
    """Keep the call timer's SIGALRM handler installed for a block of many calls (a scoring run), instead of
    installing and restoring it around each one: `signal.signal` was a tenth of scoring's time. The caller's own
    handler is back after the block. A no-op outside the main thread, where no timer runs anyway."""
    global _handler_installed
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm) if not _handler_installed else None
    _handler_installed += 1
    try:
        yield
    finally:
        _handler_installed -= 1
        if not _handler_installed:
            signal.signal(signal.SIGALRM, previous)


def is_execution_error(result: object) -> bool:
    """Whether a result string is the dispatcher's failure marker (`"Error during execution: ..."`): the one test
    for it, shared by synthesis, RL rollouts and diagnostics. Failures a tool reports as ordinary return values
    (`{"error": ...}`) are not this; see `synth.trajectory.is_failure` for those."""
    return isinstance(result, str) and result.startswith(ERROR_PREFIX)


def _exception_text(exc: BaseException) -> str:
    """`str(exc)` as BFCL formats it, or the type name when even that fails (a hostile or broken __str__)."""
    try:
        return str(exc)
    except Exception:
        return type(exc).__name__


def _show(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # RecursionError on absurd nesting
        text = type(node).__name__
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def format_result(value: Any) -> str:
    """BFCL's stringification of a tool's return value: a `str` as is, a `dict` as `json.dumps` (falling back to
    `str` when not serializable), anything else `str()`. Exact types, as BFCL checks them: a str/dict subclass
    goes through `str()`. May raise whatever `str()` raises; `Dispatcher.execute` turns that into an error."""
    if type(value) is str:
        return value
    if type(value) is dict:
        try:
            return json.dumps(value)
        except Exception:
            return str(value)
    return str(value)


def _literal(node: ast.expr, what: str, name: str) -> tuple[Any, str | None]:
    """(value, None) for a literal argument, (None, error result) otherwise."""
    if isinstance(node, ast.Name):  # the NameError BFCL's eval would raise for a bare word
        return None, _error(f"name {node.id!r} is not defined")
    if isinstance(node, ast.Starred):
        return None, _error(f"{what} of {name}() is a starred expression; only literal arguments are allowed")
    try:
        return ast.literal_eval(node), None
    except Exception:  # ValueError/TypeError for non-literals; RecursionError/MemoryError for absurd nesting
        return None, _error(f"{what} of {name}() is not a literal: {_show(node)}; only literal arguments are allowed")


def parse_call(text: str) -> ToolCall | str:
    """Parse one BFCL call string, `name(arg, ..., key=value, ...)`, into a `ToolCall`; never evaluates anything.

    The expression must be a single call whose callee is a bare name and whose arguments are all literals
    (strings, numbers, booleans, None, and lists/tuples/dicts/sets of them). On anything else the result is a
    `str`: the error, already formatted as the tool result (`"Error during execution: ..."`).
    """
    if not isinstance(text, str):
        return _error(f"a call must be a string, got {type(text).__name__}")
    try:
        # eval() strips surrounding spaces and tabs before compiling; "<string>" makes messages read as eval's do.
        tree = ast.parse(text.strip(" \t"), filename="<string>", mode="eval")
    except SyntaxError as exc:
        return _error(_exception_text(exc))
    except Exception as exc:  # ValueError (null bytes), RecursionError/MemoryError (absurd nesting)
        return _error(f"cannot parse the call: {_exception_text(exc)}")
    node = tree.body
    if not isinstance(node, ast.Call):
        return _error(f"expected a single function call like name(arg=value), got: {_show(node)}")
    if not isinstance(node.func, ast.Name):
        return _error(f"only a plain tool name can be called, got: {_show(node.func)}")
    name = node.func.id
    positional = []
    for index, arg in enumerate(node.args):
        value, error = _literal(arg, f"positional argument {index + 1}", name)
        if error is not None:
            return error
        positional.append(value)
    arguments = {}
    for keyword in node.keywords:
        if keyword.arg in arguments:  # the parser accepts it; Python's compiler (and so BFCL's eval) does not
            return _error(f"keyword argument repeated: {keyword.arg} (<string>, line 1)")
        if keyword.arg is None:
            return _error(f"**{_show(keyword.value)} in {name}() is not allowed; name every argument")
        value, error = _literal(keyword.value, f"argument {keyword.arg!r}", name)
        if error is not None:
            return error
        arguments[keyword.arg] = value
    return ToolCall(name=name, arguments=arguments, positional=tuple(positional))


class Dispatcher:
    """Executes calls against a fixed set of environment instances (`{class name: instance}`).

    The allowed names are the instances' public methods (`envs.base.tool_names`: no `_private`, no dunder, only
    methods the environment's class defines). `max_result_chars` (default: no limit, as BFCL) truncates long
    results with a marker, for callers that feed results to a model with a small context. `limits` default to the
    stage's (`set_default_limits`); see the module docstring.
    """

    def __init__(
        self, instances: dict[str, Any], max_result_chars: int | None = None, limits: ExecutionLimits | None = None
    ) -> None:
        self.instances = instances
        self.max_result_chars = max_result_chars
        self.limits = limits if limits is not None else _DEFAULT_LIMITS
        self._owner: dict[str, Any] = {}
        self._owner_class: dict[str, str] = {}
        for class_name, instance in instances.items():
            for name in tool_names(instance):
                self._owner[name] = instance  # later classes win, as in BFCL's name mapping
                self._owner_class[name] = class_name

    @property
    def tool_names(self) -> list[str]:
        """Every callable tool name, sorted."""
        return sorted(self._owner)

    def execute(self, call: ToolCall | str) -> str:
        """Run one call (a `ToolCall` or a call string) and return its result string; never raises."""
        limits = self.limits
        if isinstance(call, str):
            if limits.max_arg_chars and len(call) > limits.max_arg_chars:
                return _stopped(
                    "arg_size",
                    f"the call is {len(call)} characters, over the limit of {limits.max_arg_chars} "
                    "(execution.max_arg_chars)",
                )
            parsed = parse_call(call)
            if isinstance(parsed, str):
                return parsed
            call = parsed
        try:
            name = call.name
            if not isinstance(name, str) or name not in self._owner:
                return _error(
                    f"name {name!r} is not defined" if isinstance(name, str) else "the tool name is not a string"
                )
            # Fresh copies, as BFCL's eval builds fresh objects: an instance must never alias the caller's
            # arguments (the same ToolCall is often replayed on model and ground-truth instances).
            args = tuple(_fresh(v) for v in tuple(call.positional))
            kwargs = {k: _fresh(v) for k, v in dict(call.arguments).items()}
            if limits.max_arg_chars:
                size = _value_chars([args, kwargs], limits.max_arg_chars)
                if size > limits.max_arg_chars:
                    return _stopped(
                        "arg_size",
                        f"the arguments of {name}() are over the limit of {limits.max_arg_chars} characters "
                        "(execution.max_arg_chars)",
                    )
            stopped = _guard(self._owner_class[name], name, args, kwargs, limits)
            if stopped is not None:
                return stopped
            key = f"{self._owner_class[name]}.{name}"
            if _set_aside_after and key in SET_ASIDE:
                return _stopped(
                    "set_aside",
                    f"{name}() was set aside after {SET_ASIDE[key]} calls in a row took longer than "
                    f"{limits.call_timeout_s:g} s (execution.set_aside_after_timeouts)",
                )
            method = getattr(self._owner[name], name)
            # BFCL's mutable defaults (post_tweet's mentions=[]) would otherwise carry state across instances.
            kwargs.update(fresh_defaults(method, len(args), kwargs))
            timed_out = False
            try:
                result = _run_with_timeout(lambda: format_result(method(*args, **kwargs)), limits.call_timeout_s)
            except _CallTimeout:
                timed_out = True
                raise
            finally:  # a result or the tool's own error is an answer: it ends a run of timeouts
                if _set_aside_after:
                    _note_call(key, timed_out, limits.call_timeout_s)
        except _CallTimeout:
            result = _stopped(
                "timeout",
                f"{name}() took longer than {limits.call_timeout_s:g} s (execution.call_timeout_s)",
            )
        except (Exception, SystemExit) as exc:
            result = _error(_exception_text(exc))
        if self.max_result_chars is not None and len(result) > self.max_result_chars:
            omitted = len(result) - self.max_result_chars
            result = f"{result[: self.max_result_chars]}... [truncated {omitted} characters]"
        return result

    def execute_all(self, calls: list[ToolCall | str]) -> list[str]:
        """`execute` each call in order (state carries over from one call to the next)."""
        return [self.execute(call) for call in calls]
