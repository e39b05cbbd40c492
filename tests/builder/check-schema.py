#!/usr/bin/env python3
# The JSON Schema of builder templates agrees with the C parser on the fixtures: every template
# the parser accepts validates, and every structural error the parser reports is also a schema
# error. Errors only the parser can see (variables, cross-field rules, byte ranges) are listed.
# SPDX-License-Identifier: LGPL-2.1-or-later
import json, os, sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema missing", file=sys.stderr)
    sys.exit(77)

SEMANTIC_ONLY = {
    "err-undeclared-var", "err-var-not-declared", "err-repro-iterations", "err-repro-generated",
    "err-esp-too-big", "err-size-small", "err-dest-dotdot",
    # Packer's {{user ...}} inside any string: the parser's text check, not a schema rule
    "packer-user",
}
schema_path, data_dir = sys.argv[1], sys.argv[2]
schema = json.load(open(schema_path))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
failures, checked = 0, 0
for name in sorted(os.listdir(data_dir)):
    if not name.endswith(".json"):
        continue
    stem = name[:-5]
    try:
        doc = json.load(open(os.path.join(data_dir, name)))
    except ValueError:
        continue  # not JSON: the parser's own business
    errors = list(v.iter_errors(doc))
    accepted = os.path.exists(os.path.join(data_dir, stem + ".expected"))
    checked += 1
    if accepted and errors:
        print(f"FAIL {stem}: parser accepts, schema rejects: {errors[0].message}")
        failures += 1
    elif not accepted and stem not in SEMANTIC_ONLY and not errors:
        print(f"FAIL {stem}: parser rejects, schema accepts")
        failures += 1
    elif not accepted and stem in SEMANTIC_ONLY and errors:
        print(f"FAIL {stem}: listed as semantic-only but the schema rejects it: {errors[0].message}")
        failures += 1
    else:
        print(f"ok {stem}")
print(f"{checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
