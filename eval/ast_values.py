"""BFCL's AST checker, value by value: parameter types (nested one level), strings, lists, dicts and lists of dicts
compared with BFCL's standardization, and Java/JavaScript values through BFCL's own converters.

    from funreason.eval.ast_values import type_checker, string_checker
    string_checker("city", "new york", ["New York"])      # {"valid": True, "error": []}

Part of the line-by-line port of `bfcl_eval/eval_checker/ast_eval/ast_checker.py` (eval/ast_checker.py holds the
function-level checkers); same verdicts and error texts.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from funreason.envs import bfcl

PYTHON_TYPE_MAPPING = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
PYTHON_NESTED_TYPE_CHECK_LIST = ["array", "tuple"]
NESTED_CONVERSION_TYPE_LIST = ["Array", "ArrayList", "array"]


@cache
def _converters() -> tuple:
    """BFCL's Java/JS type tables and converters (the wheel's own code; imported lazily, after the project root)."""

    bfcl.ensure_project_root()
    from bfcl_eval.constants.type_mappings import JAVA_TYPE_CONVERSION, JS_TYPE_CONVERSION
    from bfcl_eval.eval_checker.ast_eval.type_convertor.java_type_converter import java_type_converter
    from bfcl_eval.eval_checker.ast_eval.type_convertor.js_type_converter import js_type_converter

    return JAVA_TYPE_CONVERSION, JS_TYPE_CONVERSION, java_type_converter, js_type_converter


def convert_value(value: Any, description: str, param_detail: dict, language: str) -> tuple[Any, Any, Any, dict | None]:
    """Java/JS: the string value converted by BFCL's converter -> (value, expected type, nested type, failure)."""
    java_types, js_types, java_convert, js_convert = _converters()
    types, convert, tag, name = (
        (java_types, java_convert, "java", "Java") if language == "java" else (js_types, js_convert, "js", "JavaScript")
    )
    expected = types[description]  # BFCL: a KeyError for a type its table lacks (none in the dataset)
    if type(value) is not str:
        error = (
            f"Incorrect type for parameter {param_detail['_name']!r}. Expected type String, got "
            f"{type(value).__name__}. Parameter value: {value!r}."
        )
        return value, expected, None, {"valid": False, "error": [error], "error_type": f"type_error:{tag}"}
    nested = None
    try:
        if description in NESTED_CONVERSION_TYPE_LIST:
            nested_type = param_detail["items"]["type"]
            nested = types[nested_type]
            value = convert(value, description, nested_type)
        else:
            value = convert(value, description)
    except (ValueError, NotImplementedError, KeyError, IndexError, TypeError) as exc:
        # BFCL's evaluator crashes here; a failed call is the honest verdict
        error = f"{name} type conversion of parameter {param_detail['_name']!r} ({description}) failed: {exc}"
        return value, expected, nested, {"valid": False, "error": [error], "error_type": f"type_error:{tag}"}
    return value, expected, nested, None


def get_possible_answer_type(possible_answer: list):
    for answer in possible_answer:
        if answer != "":  # optional parameter
            return type(answer)
    return None


def type_checker(
    param, value, possible_answer, expected_type_description, expected_type_converted, nested_type_converted
):
    # BFCL checks nested types one level deep only
    result = {"valid": True, "error": [], "is_variable": False, "error_type": "type_error:simple"}
    is_variable = False
    possible_answer_type = get_possible_answer_type(possible_answer)
    if possible_answer_type is not None and possible_answer_type != expected_type_converted:
        is_variable = True

    if type(value) is expected_type_converted:
        if nested_type_converted is None:
            result["is_variable"] = is_variable
            return result
        for possible_answer_item in possible_answer:
            flag = True
            if type(possible_answer_item) is list:
                for value_item in value:
                    checker_result = type_checker(
                        param, value_item, possible_answer_item, str(nested_type_converted), nested_type_converted, None
                    )
                    if not checker_result["valid"]:
                        flag = False
                        break
            if flag:
                return {"valid": True, "error": [], "is_variable": is_variable}
        result["valid"] = False
        result["error"] = [
            f"Nested type checking failed for parameter {param!r}. Expected outer type {expected_type_description} "
            f"with inner type {str(nested_type_converted)}. Parameter value: {value!r}."
        ]
        result["error_type"] = "type_error:nested"

    possible_answer_type = get_possible_answer_type(possible_answer)
    if possible_answer_type is not None and type(value) is possible_answer_type:
        result["is_variable"] = True
        return result

    result["valid"] = False
    result["error"].append(
        f"Incorrect type for parameter {param!r}. Expected type {expected_type_description}, got "
        f"{type(value).__name__}. Parameter value: {value!r}."
    )
    result["error_type"] = "type_error:simple"
    return result


_STANDARDIZE = re.compile(r"[ \,\.\/\-\_\*\^]")


def standardize_string(input_string: str) -> str:
    """Remove spaces and ",./-_*^", lowercase, single quotes to double: "April 1, 2024" == "april 1 2024"."""
    return _STANDARDIZE.sub("", input_string).lower().replace("'", '"')


def string_checker(param: str, model_output: str, possible_answer: list) -> dict:
    standardized = [standardize_string(a) for a in possible_answer if type(a) is str]
    if standardize_string(model_output) not in standardized:
        return {
            "valid": False,
            "error": [
                f"Invalid value for parameter {param!r}: {model_output!r}. Expected one of {possible_answer}. "
                "Case insensitive."
            ],
            "error_type": "value_error:string",
        }
    return {"valid": True, "error": []}


def list_checker(param: str, model_output: list, possible_answer: list) -> dict:
    output = list(model_output)
    for i in range(len(output)):
        if type(output[i]) is str:
            output[i] = standardize_string(model_output[i])
    standardized = [[standardize_string(x) if type(x) is str else x for x in answer] for answer in possible_answer]
    if output not in standardized:
        return {
            "valid": False,
            "error": [f"Invalid value for parameter {param!r}: {model_output!r}. Expected one of {possible_answer}."],
            "error_type": "value_error:list/tuple",
        }
    return {"valid": True, "error": []}


def dict_checker(param: str, model_output: dict, possible_answers: list) -> dict:
    # BFCL: simple dictionaries only (the dataset holds no nested ones)
    result = {"valid": False, "error": [], "error_type": "dict_checker:unclear"}
    for i in range(len(possible_answers)):
        if possible_answers[i] == "":
            continue
        result = {"valid": False, "error": [], "error_type": "dict_checker:unclear"}
        flag = True
        possible_answer = possible_answers[i]
        for key, value in model_output.items():
            if key not in possible_answer:
                result["valid"] = False
                result["error"].append(f"Unexpected dict key parameter: '{key}'.")
                result["error_type"] = "value_error:dict_key"
                flag = False
                break
            standardize_value = standardize_string(value) if type(value) is str else value
            standardized = [standardize_string(x) if type(x) is str else x for x in possible_answer[key]]
            if standardize_value not in standardized:
                result["valid"] = False
                result["error"].append(
                    f"Invalid value for parameter {key!r}: {value!r}. Expected one of {standardized}."
                )
                result["error_type"] = "value_error:dict_value"
                flag = False
                break
        for key, value in possible_answer.items():
            if key not in model_output and "" not in value:
                result["valid"] = False
                result["error"].append(f"Missing dict key parameter: '{key}'.")
                result["error_type"] = "value_error:dict_key"
                flag = False
                break
        if flag:
            return {"valid": True, "error": []}
    return result


def list_dict_checker(param: str, model_output: list, possible_answers: list) -> dict:
    # the order of the dictionaries must match the order of the possible answer's
    result = {"valid": False, "error": [], "error_type": "list_dict_checker:unclear"}
    for answer_index in range(len(possible_answers)):
        flag = True
        if len(model_output) != len(possible_answers[answer_index]):
            result["valid"] = False
            result["error"] = ["Wrong number of dictionaries in the list."]
            result["error_type"] = "value_error:list_dict_count"
            flag = False
            continue
        for dict_index in range(len(model_output)):
            result = dict_checker(param, model_output[dict_index], [possible_answers[answer_index][dict_index]])
            if not result["valid"]:
                flag = False
                break
        if flag:
            return {"valid": True, "error": []}
    return result
