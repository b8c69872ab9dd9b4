"""The safe dispatcher: hostile call strings never run code, never touch the disk, and always become result strings.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/envs/test_dispatch.py
"""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys
from collections import OrderedDict

import pytest
from funreason.chat.calls import ToolCall
from funreason.envs import bfcl
from funreason.envs.base import snapshot
from funreason.envs.dispatch import ERROR_PREFIX, Dispatcher, format_result, is_limit_error, parse_call

PWN = "__import__('os').system('touch PWNED')"


class Shop:
    """A small environment whose tools misbehave on purpose."""

    def __init__(self) -> None:
        self.stock: dict = {}
        self._secret = "hidden"

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        self.stock = scenario.get("stock", {"apple": 3})

    def buy(self, item: str, count: int = 1) -> dict:
        if self.stock.get(item, 0) < count:
            raise ValueError(f"not enough {item}")
        self.stock[item] -= count
        return {"item": item, "left": self.stock[item]}

    def boom(self) -> str:
        raise KeyError("boom")

    def recurse(self, depth: int = 0) -> int:
        return self.recurse(depth + 1)

    def huge(self) -> int:
        return 10**5000  # str() refuses > 4300 digits

    def bad_str(self) -> object:
        class Bad:
            def __str__(self) -> str:
                raise RuntimeError("no str")

        return Bad()

    def bad_exception(self) -> None:
        class Weird(Exception):
            def __str__(self) -> str:
                raise RuntimeError("no message")

        raise Weird()

    def leave(self) -> None:
        sys.exit(3)

    def save(self, data: dict) -> str:
        self.stock["saved"] = data
        return "ok"


def _hostile_strings() -> list[str]:
    tool = "ls"
    s = [
        f"{PWN} or ls",
        f"ls() or {PWN}",
        f"ls(a={PWN})",
        f"ls(a=True, b={PWN})",
        f"ls({PWN})",
        f"cd(folder={PWN})",
        f'eval("{PWN}")',
        f'exec("{PWN}")',
        "open('PWNED', 'w').write('x')",
        "ls(a=open('PWNED', 'w'))",
        "getattr(__builtins__, 'eval')('1')",
        "__builtins__.__dict__['eval']('1')",
        "().__class__.__bases__[0].__subclasses__()",
        "ls.__globals__['__builtins__']['exec']('1')",
        "ls.__self__._load_scenario({})",
        "ls.__call__()",
        "ls.__func__(None)",
        "GorillaFileSystem.ls()",
        "self.ls()",
        "self._load_scenario({})",
        "os.system('touch PWNED')",
        "subprocess.Popen(['touch', 'PWNED'])",
        "type('X', (), {})()",
        "object.__subclasses__()",
        "super().ls()",
        "globals()['ls']()",
        "vars()['ls']()",
        "(lambda: __import__('os').system('touch PWNED'))()",
        "ls(a=lambda: 1)",
        "ls(a=[x for x in ().__class__.__mro__])",
        "ls(a={x for x in 'ab'})",
        "ls(a={x: 1 for x in 'ab'})",
        "ls(a=(x for x in 'ab'))",
        f'ls(a=f"{{{PWN}}}")',
        "cat(file_name=f'{1}')",
        "ls[0]()",
        "ls(a=x[0])",
        "ls(a=[1][0])",
        "ls(*['a'])",
        "ls(**{'a': True})",
        "ls(a=(x := 1))",
        "(ls := 1)",
        "cd(folder=pwd())",
        "cd(folder=ls())",
        "cd(folder=__import__('os').getcwd())",
        "echo(content='a' * 10)",
        "echo(content='a' + 'b')",
        "ls(a=1+1)",
        "ls(a=-x)",
        "ls(a=not True)",
        "ls(a=True if 1 else 2)",
        "ls(a={**{}})",
        "ls(a=[*()])",
        "ls(a=await x)",
        "ls(a=(yield))",
        "ls(a=print)",
        "ls(a=...)(b=1)",
        "ls()()",
        "ls().x",
        "ls(a=1).__class__",
        "",
        " ",
        "\n",
        "ls(",
        "ls)",
        "ls() ls()",
        "ls(); __import__('os')",
        f"ls()\n{PWN}",
        "[ls()]",
        "ls(),",
        "ls(a=1, a=2)",
        "import os",
        "from os import system",
        "del x",
        "x = 1",
        "ls() if 1 else 0",
        "# ls()",
        "\x00",
        "ls(\x00)",
        "ls(a='\x00')\x00",
        "ls",
        "'ls()'",
        "b'ls()'",
        "1",
        "None",
        "ls(a=1)(b=2)",
        "'a'.join(['b'])",
        "ls" + "(" * 300 + ")" * 300,
        "ls(a=" + "[" * 500 + "]" * 500 + ")",
        "ls(a=" + "1" * 5000 + ")",
        "ls(" + "a" * 100_000 + ")",
        "a" * 100_000 + "()",
        "x" * 1_000_000,
        "cat(file_name='" + "a" * 100_000 + "'",
        "\u202els()",
        "ls\u200b()",
        "😀()",
        "ｅｘｅｃ('1')",
        "__ｉｍｐｏｒｔ__('os')",
        "ls(a=ｐｒｉｎｔ)",
        "_load_scenario({'root': {}})",
        "_load_directory({})",
        "_populate_directory(None)",
        "_api_description()",
        "_current_dir()",
        "_secret()",
        "__init__()",
        "__eq__(1)",
        "__class__()",
        "__dict__()",
        "__getattribute__('root')",
        "__setattr__('root', 1)",
        "__delattr__('root')",
        "__reduce__()",
        "__reduce_ex__(2)",
        "__subclasshook__()",
        "__init_subclass__()",
        "__import__('os')",
        "__builtins__()",
        "__loader__()",
        "kill(1)",
        "exit()",
        "quit()",
        "remove('x')",
        "unlink('x')",
        "popen('ls')",
        "Popen('ls')",
        "run('ls')",
        "root()",
        "long_context()",
        "ls(bogus=1)",
        "cd()",
        "cd('a', 'b', 'c')",
        "cd(folder='a', folder2='b')",
        "ls(a=1, *[2])",
        "ls(a=x.y)",
        "ls(a=x.__class__)",
        "ls(a=ls)",
        "ls(a=(1, x))",
        "ls(a={'k': x})",
        "ls(a=1 if x else 2)",
        "ls(a=1 < 2)",
        "ls(a=1 and 2)",
        "ls(a=~1)",
        "ls(a=1j + x)",
        "ls(a=__debug__)",
        "ls(a=set)",
        "ls(a=frozenset())",
        "ls(a=range(10))",
        "ls(a=slice(1))",
        "ls(a=Ellipsis)",
        "ls(a=NotImplemented)",
    ]
    assert tool not in dir(builtins)
    s += [f"{name}('touch PWNED')" for name in sorted(dir(builtins))]
    return s


@pytest.fixture
def built() -> tuple[Dispatcher, dict]:
    return _dispatcher()


@pytest.fixture
def guarded(built, tmp_path, monkeypatch):
    """A temp cwd plus tripwires on every way to start a process or evaluate code; returns the trip log."""
    monkeypatch.chdir(tmp_path)
    tripped: list[str] = []

    def tripwire(name):
        def trip(*args, **kwargs):
            tripped.append(name)
            raise AssertionError(f"{name} was called")

        return trip

    names = ["system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "remove", "unlink", "rmdir"]
    names += [n for n in dir(os) if n.startswith(("exec", "spawn"))]
    for name in names:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, tripwire(f"os.{name}"))
    for name in ["Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput"]:
        monkeypatch.setattr(subprocess, name, tripwire(f"subprocess.{name}"))
    for name in ["eval", "exec", "breakpoint", "input"]:
        monkeypatch.setattr(builtins, name, tripwire(f"builtins.{name}"))
    return tripped


def _dispatcher() -> tuple[Dispatcher, dict]:
    entry = bfcl.load_entries("base")[0]
    instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
    instances["Shop"] = Shop()
    instances["Shop"]._load_scenario({})
    return Dispatcher(instances), instances


def test_hostile_strings_are_inert_error_results(built, guarded, tmp_path):
    strings = _hostile_strings()
    assert len(strings) >= 200
    dispatcher, instances = built  # built before the tripwires are set
    before = {name: snapshot(inst) for name, inst in instances.items()}
    for text in strings:
        parsed = parse_call(text)
        result = dispatcher.execute(text)
        assert isinstance(result, str) and result.startswith(ERROR_PREFIX), (text[:80], result[:200])
        if len(text) > dispatcher.limits.max_arg_chars:  # refused before parsing (execution.max_arg_chars)
            assert is_limit_error(result) and "execution.max_arg_chars" in result
        elif isinstance(parsed, str):
            assert result == parsed
        else:  # parsed into a well-formed call: its name must be unknown, or the method refused the arguments
            assert isinstance(parsed, ToolCall)
            if parsed.name not in dispatcher.tool_names:
                assert result == f"{ERROR_PREFIX}name '{parsed.name}' is not defined"
            else:
                assert "argument" in result, (text, result)
    assert guarded == []
    assert list(tmp_path.iterdir()) == []
    assert {name: snapshot(inst) for name, inst in instances.items()} == before


def test_hostile_tool_calls_are_inert(built, guarded, tmp_path):
    dispatcher, instances = built
    before = {name: snapshot(inst) for name, inst in instances.items()}
    cases = [
        (ToolCall(f"{PWN} or ls", {}), f'{ERROR_PREFIX}name "{PWN} or ls" is not defined'),
        (ToolCall("_load_scenario", {"scenario": {}}), f"{ERROR_PREFIX}name '_load_scenario' is not defined"),
        (ToolCall("__class__", {}), f"{ERROR_PREFIX}name '__class__' is not defined"),
        (
            ToolCall("ls", {"__class__": 1}),
            f"{ERROR_PREFIX}GorillaFileSystem.ls() got an unexpected keyword argument '__class__'",
        ),
        (ToolCall(123, {}), f"{ERROR_PREFIX}the tool name is not a string"),
        (ToolCall("ls", None), f"{ERROR_PREFIX}'NoneType' object is not iterable"),
        (ToolCall("ls", {1: 2}), f"{ERROR_PREFIX}keywords must be strings"),
    ]
    for call, expected in cases:
        assert dispatcher.execute(call) == expected
    assert guarded == [] and list(tmp_path.iterdir()) == []
    assert {name: snapshot(inst) for name, inst in instances.items()} == before


def test_execution_failures_become_error_strings():
    dispatcher, instances = _dispatcher()
    assert dispatcher.execute("boom()") == f"{ERROR_PREFIX}'boom'"
    assert dispatcher.execute("recurse()") == f"{ERROR_PREFIX}maximum recursion depth exceeded"
    assert dispatcher.execute("huge()").startswith(f"{ERROR_PREFIX}Exceeds the limit (4300 digits)")
    assert dispatcher.execute("bad_str()") == f"{ERROR_PREFIX}no str"
    assert dispatcher.execute("bad_exception()") == f"{ERROR_PREFIX}Weird"
    assert dispatcher.execute("leave()") == f"{ERROR_PREFIX}3"
    assert dispatcher.execute("buy('pear')") == f"{ERROR_PREFIX}not enough pear"
    assert dispatcher.execute("buy(item='apple', count=2)") == '{"item": "apple", "left": 1}'
    assert dispatcher.execute("buy('apple', 2)") == f"{ERROR_PREFIX}not enough apple"
    assert instances["Shop"].stock["apple"] == 1
    assert dispatcher.execute("buy(item='apple', colour='red')") == (
        f"{ERROR_PREFIX}Shop.buy() got an unexpected keyword argument 'colour'"
    )
    assert dispatcher.execute("cd(folder='a', folder2='b')").endswith("unexpected keyword argument 'folder2'")


def test_arguments_are_copied_not_aliased():
    dispatcher, instances = _dispatcher()
    payload = {"nested": [1, 2]}
    call = ToolCall("save", {"data": payload})
    assert dispatcher.execute(call) == "ok"
    payload["nested"].append(3)
    assert instances["Shop"].stock["saved"] == {"nested": [1, 2]}


def test_parse_call_literals_and_positional():
    call = parse_call("  f('x', 2, k={'a': [1, (2, 3)], 'b': None}, z=-1.5, s={1}, t=True)\t")
    assert call == ToolCall("f", {"k": {"a": [1, (2, 3)], "b": None}, "z": -1.5, "s": {1}, "t": True}, ("x", 2))
    assert parse_call("sort('final_report.pdf')") == ToolCall("sort", {}, ("final_report.pdf",))
    assert parse_call("ls(") == f"{ERROR_PREFIX}'(' was never closed (<string>, line 1)"
    assert parse_call("cd(folder=document)") == f"{ERROR_PREFIX}name 'document' is not defined"
    assert parse_call("ls(a=1, a=2)") == f"{ERROR_PREFIX}keyword argument repeated: a (<string>, line 1)"
    assert parse_call(None) == f"{ERROR_PREFIX}a call must be a string, got NoneType"


def test_format_result_is_bfcl_stringification():
    assert format_result("plain") == "plain"
    assert format_result({"a": "é", "b": [1, None]}) == json.dumps({"a": "é", "b": [1, None]})
    assert format_result({"a": {1, 2}}) == str({"a": {1, 2}})  # not JSON-serializable -> str()
    assert format_result(OrderedDict(a=1)) == str(OrderedDict(a=1)) != '{"a": 1}'  # exact-type check, as BFCL
    assert format_result([1, "x"]) == "[1, 'x']"
    assert format_result(None) == "None"

    class Text(str):
        def __str__(self) -> str:
            return "via str()"

    assert format_result(Text("raw")) == "via str()"


def test_max_result_chars_truncates_only_when_asked():
    dispatcher, _ = _dispatcher()
    assert dispatcher.execute("buy(item='apple')") == '{"item": "apple", "left": 2}'
    capped, _ = _dispatcher()
    capped.max_result_chars = 20
    assert capped.execute("buy(item='apple')") == '{"item": "apple", "l... [truncated 8 characters]'


def test_later_class_wins_name_collisions():
    class A:
        def ping(self) -> str:
            return "A"

    class B:
        def ping(self) -> str:
            return "B"

    assert Dispatcher({"A": A(), "B": B()}).execute("ping()") == "B"
    assert Dispatcher({"B": B(), "A": A()}).execute("ping()") == "A"
