"""BFCL's single-turn AST checker (simple / multiple / parallel / parallel_multiple, Python, Java, JavaScript).

    from funreason.eval.ast_checker import ast_check
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
from typing import Any

from funreason.eval.ast_values import (
    PYTHON_NESTED_TYPE_CHECK_LIST,
    PYTHON_TYPE_MAPPING,
    convert_value,
    dict_checker,
    list_checker,
    list_dict_checker,
    string_checker,
    type_checker,
)

LANGUAGES = ("python", "java", "javascript")


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


def convert_func_name(function_name: str, underscore_to_dot: bool) -> str:
    if "." in function_name and underscore_to_dot:
        return re.sub(r"\.", "_", function_name)
    return function_name


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
        verdict = _check_param(param, value, param_details[param], possible_answer[param], language)
        if verdict is not None:
            if not verdict["valid"]:
                return verdict
            result = verdict  # as BFCL: a value checker's verdict becomes the function's

    for param in possible_answer:
        if param not in model_params and "" not in possible_answer[param]:
            result["valid"] = False
            result["error"].append(f"Optional parameter {param!r} not provided and not marked as optional.")
            result["error_type"] = "simple_function_checker:missing_optional"
            return result
    return result


def _check_param(param: str, value: Any, param_detail: dict, possible: list, language: str) -> dict | None:
    """One parameter of `simple_function_checker` (BFCL's loop body): a failure verdict, a value checker's verdict
    (dict, list of dicts, string, list), or None when the value is among the possible ones."""
    description = param_detail["type"]
    nested_type_converted = None
    if language in ("java", "javascript"):
        value, expected_type_converted, nested_type_converted, failure = convert_value(
            value, description, {**param_detail, "_name": param}, language
        )
        if failure:
            return failure
    elif language == "python":
        expected_type_converted = PYTHON_TYPE_MAPPING[description]
        if description in PYTHON_NESTED_TYPE_CHECK_LIST:
            nested_type_converted = PYTHON_TYPE_MAPPING[param_detail["items"]["type"]]
    else:
        raise ValueError(f"Unsupported language: {language}")

    # BFCL turns tuples into lists for tuple parameters (ground truth went through JSON) and accepts an int
    # where a Python float is expected
    if description == "tuple" and type(value) is tuple:
        value = list(value)
    if language == "python" and description == "float" and type(value) is int:
        value = float(value)

    type_check = type_checker(param, value, possible, description, expected_type_converted, nested_type_converted)
    if not type_check["valid"]:
        return type_check

    if not type_check["is_variable"]:
        value_checker = None
        if expected_type_converted is dict:
            value_checker = dict_checker
        elif expected_type_converted is list and nested_type_converted is dict:
            value_checker = list_dict_checker
        elif expected_type_converted is str:
            value_checker = string_checker
        elif expected_type_converted is list:
            value_checker = list_checker
        if value_checker is not None:
            return value_checker(param, value, possible)

    if value not in possible:
        return {
            "valid": False,
            "error": [f"Invalid value for parameter {param!r}: {value!r}. Expected one of {possible}."],
            "error_type": "value_error:others",
        }
    return None


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
