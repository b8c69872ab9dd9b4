"""BFCL's single-turn AST checker (simple / multiple / parallel / parallel_multiple, Python, Java, JavaScript).

    from eval.ast_checker import ast_check
    verdict = ast_check(entry["function"], decoded, ground_truth, language="python", category="simple_python")
    verdict["valid"], verdict["error"], verdict["error_type"]

A line-by-line port of `bfcl_eval/eval_checker/ast_eval/ast_checker.py` (bfcl-eval 2026.3.23, Apache-2.0), with the
same verdicts and error texts, minus two things that tie the original to BFCL's process:

- the original reads `underscore_to_dot` from its model registry (`MODEL_CONFIG_MAPPING`, whose import pulls in every
  vendor SDK); here it is an argument. BFCL sets it for API models in FC mode, whose providers forbid "." in tool
  names (the model answers `math_factorial` for `math.factorial`);
- Java and JavaScript values are converted by BFCL's own `java_type_converter` / `js_type_converter`, imported from
  the installed wheel (pure regular-expression code, nothing evaluated). Where they raise (types BFCL never
  implemented, e.g. Java `Set`), BFCL's evaluator crashes; here the call fails with `type_error:java` / `type_error:js`.

Nothing here evaluates model text: `decoded` is what eval/ast_decode.py made of it (literals only).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from envs import bfcl

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
LANGUAGES = ("python", "java", "javascript")


@cache
def _converters() -> tuple:
    """BFCL's Java/JS type tables and converters (the wheel's own code; imported lazily, after the project root)."""

    bfcl.ensure_project_root()
    from bfcl_eval.constants.type_mappings import JAVA_TYPE_CONVERSION, JS_TYPE_CONVERSION
    from bfcl_eval.eval_checker.ast_eval.type_convertor.java_type_converter import java_type_converter
    from bfcl_eval.eval_checker.ast_eval.type_convertor.js_type_converter import js_type_converter

    return JAVA_TYPE_CONVERSION, JS_TYPE_CONVERSION, java_type_converter, js_type_converter


def language_of(category: str) -> str:
    """BFCL's `is_java` / `is_js` on a category name."""
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


def ast_check(
    func_description: list[dict],
    model_output: list[dict],
    possible_answer: list[dict],
    language: str,
    category: str,
    underscore_to_dot: bool = False,
) -> dict:
    """BFCL's `ast_checker`: dispatch on the category name as BFCL does ("parallel" before "multiple")."""
    if "parallel" in category:
        return parallel_function_checker_no_order(
            func_description, model_output, possible_answer, language, underscore_to_dot
        )
    if "multiple" in category:
        return multiple_function_checker(func_description, model_output, possible_answer, language, underscore_to_dot)
    if len(model_output) != 1:
        return {"valid": False, "error": ["Wrong number of functions."], "error_type": "simple_function_checker:wrong_count"}  # fmt: skip
    return simple_function_checker(
        func_description[0], model_output[0], possible_answer[0], language, underscore_to_dot
    )


def find_description(func_descriptions, name):
    if type(func_descriptions) is list:
        for func_description in func_descriptions:
            if func_description["name"] == name:
                return func_description
        return None
    return func_descriptions


def get_possible_answer_type(possible_answer: list):
    for answer in possible_answer:
        if answer != "":  # optional parameter
            return type(answer)
    return None


def convert_func_name(function_name: str, underscore_to_dot: bool) -> str:
    if "." in function_name and underscore_to_dot:
        return re.sub(r"\.", "_", function_name)
    return function_name


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


def _convert(value: Any, description: str, param_detail: dict, language: str) -> tuple[Any, Any, Any, dict | None]:
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


def simple_function_checker(
    func_description: dict, model_output: dict, possible_answer: dict, language: str, underscore_to_dot: bool
) -> dict:
    possible_answer = list(possible_answer.values())[0]
    func_name = func_description["name"]
    param_details = func_description["parameters"]["properties"]
    required_params = func_description["parameters"]["required"]
    result = {"valid": True, "error": [], "error_type": "simple_function_checker:unclear"}

    func_name = convert_func_name(func_name, underscore_to_dot)
    if func_name not in model_output:
        result["valid"] = False
        result["error"].append(f"Function name {func_name!r} not found in model output.")
        result["error_type"] = "simple_function_checker:wrong_func_name"
        return result
    model_params = model_output[func_name]

    for param in required_params:
        if param not in model_params:
            result["valid"] = False
            result["error"].append(f"Missing required parameter: {param!r}.")
            result["error_type"] = "simple_function_checker:missing_required"
            return result

    for param, value in model_params.items():
        if param not in param_details or param not in possible_answer:
            result["valid"] = False
            result["error"].append(f"Unexpected parameter: {param!r}.")
            result["error_type"] = "simple_function_checker:unexpected_param"
            return result

        description = param_details[param]["type"]
        nested_type_converted = None
        if language in ("java", "javascript"):
            value, expected_type_converted, nested_type_converted, failure = _convert(
                value, description, {**param_details[param], "_name": param}, language
            )
            if failure:
                return failure
        elif language == "python":
            expected_type_converted = PYTHON_TYPE_MAPPING[description]
            if description in PYTHON_NESTED_TYPE_CHECK_LIST:
                nested_type_converted = PYTHON_TYPE_MAPPING[param_details[param]["items"]["type"]]
        else:
            raise ValueError(f"Unsupported language: {language}")

        # BFCL turns tuples into lists for tuple parameters (ground truth went through JSON) and accepts an int
        # where a Python float is expected
        if description == "tuple" and type(value) is tuple:
            value = list(value)
        if language == "python" and description == "float" and type(value) is int:
            value = float(value)

        type_check = type_checker(
            param, value, possible_answer[param], description, expected_type_converted, nested_type_converted
        )
        is_variable = type_check["is_variable"]
        if not type_check["valid"]:
            return type_check

        if not is_variable:
            if expected_type_converted is dict:
                result = dict_checker(param, value, possible_answer[param])
                if not result["valid"]:
                    return result
                continue
            if expected_type_converted is list and nested_type_converted is dict:
                result = list_dict_checker(param, value, possible_answer[param])
                if not result["valid"]:
                    return result
                continue
            if expected_type_converted is str:
                result = string_checker(param, value, possible_answer[param])
                if not result["valid"]:
                    return result
                continue
            if expected_type_converted is list:
                result = list_checker(param, value, possible_answer[param])
                if not result["valid"]:
                    return result
                continue

        if value not in possible_answer[param]:
            result["valid"] = False
            result["error"].append(
                f"Invalid value for parameter {param!r}: {value!r}. Expected one of {possible_answer[param]}."
            )
            result["error_type"] = "value_error:others"
            return result

    for param in possible_answer:
        if param not in model_params and "" not in possible_answer[param]:
            result["valid"] = False
            result["error"].append(f"Optional parameter {param!r} not provided and not marked as optional.")
            result["error_type"] = "simple_function_checker:missing_optional"
            return result
    return result


def parallel_function_checker_no_order(
    func_descriptions: list, model_output: list, possible_answers: list, language: str, underscore_to_dot: bool
) -> dict:
    if len(model_output) != len(possible_answers):
        return {
            "valid": False,
            "error": ["Wrong number of functions."],
            "error_type": "parallel_function_checker_no_order:wrong_count",
        }
    matched_indices: list[int] = []
    # each expected call, in order, takes the first unused model call that passes (greedy, as BFCL does)
    for i in range(len(possible_answers)):
        func_name_expected = list(possible_answers[i].keys())[0]
        func_description = find_description(func_descriptions, func_name_expected)
        all_errors: list = []
        result: dict = {}
        for index in range(len(model_output)):
            if index in matched_indices:
                continue
            result = simple_function_checker(
                func_description, model_output[index], possible_answers[i], language, underscore_to_dot
            )
            if result["valid"]:
                matched_indices.append(index)
                break
            all_errors.append(
                {
                    f"Model Result Index {index}": {
                        "sub_error": result["error"],
                        "sub_error_type": result["error_type"],
                        "model_output_item": model_output[index],
                        "possible_answer_item": possible_answers[i],
                    }
                }
            )
        if not result["valid"]:
            considered = [k for k in range(len(model_output)) if k not in matched_indices]
            all_errors.insert(
                0,
                f"Could not find a matching function among index {considered} of model output for index {i} of "
                "possible answers.",
            )
            return {
                "valid": False,
                "error": all_errors,
                "error_type": "parallel_function_checker_no_order:cannot_find_match",
            }
    return {"valid": True, "error": []}


def multiple_function_checker(
    func_descriptions: list, model_output: list, possible_answers: list, language: str, underscore_to_dot: bool
) -> dict:
    if len(model_output) != len(possible_answers):
        return {"valid": False, "error": ["Wrong number of functions."], "error_type": "multiple_function_checker:wrong_count"}  # fmt: skip
    func_name_expected = list(possible_answers[0].keys())[0]
    func_description = find_description(func_descriptions, func_name_expected)
    return simple_function_checker(func_description, model_output[0], possible_answers[0], language, underscore_to_dot)
