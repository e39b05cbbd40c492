#!/usr/bin/python3
"""The state-machine diagrams cannot drift from the code.

  check-diagrams.py SRCDIR

docs/diagrams/pipeline.dot must have one node per status step the Aleph pipeline writes
(plugin/pipeline/ac-pipeline*.c: ac_pipeline_report (…, "STATE", "STEP", …) and the failure
states of ac_pipeline_report_failure; plugin/daemon/ac-reconcile.c: the validate step), each labelled with the
states written with it, and no node that is not such a step or state; likewise
docs/diagrams/localsev.dot for the local SEV flow (plugin/localsev/ac-localsev-service*.c).
"""
import os
import re
import sys

SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def dot_nodes(rel):
    """{node id: label} of the quoted node statements of a .dot file (comments stripped)."""
    text = re.sub(r"//[^\n]*", "", read(rel))
    nodes = {}
    for m in re.finditer(r'^\s*"([^"]+)"\s*\[label="((?:[^"\\]|\\.)*)"', text, re.M):
        nodes[m.group(1)] = m.group(2).replace("\\n", "\n")
    return nodes


def reconcile_states():
    """states of the validate step (ac-reconcile.c), and whether a domain waiting for a slot
    says 'queued' (ac_reconcile_queued_status: at the step it waits for, drawn at 'build')"""
    text = read("plugin/daemon/ac-reconcile.c")
    if 'st->step = g_strdup ("validate")' not in text:
        fail("plugin/daemon/ac-reconcile.c no longer writes step 'validate': update this check")
    queued = re.search(r'\nac_reconcile_queued_status \(.*?\n}\n', text, re.S)
    if queued is None:
        fail("plugin/daemon/ac-reconcile.c: ac_reconcile_queued_status not found: update this check")
        return set(), set()
    waiting = set(re.findall(r'st->state = g_strdup \("([a-z-]+)"\)', queued.group(0)))
    rest = text.replace(queued.group(0), "")
    return set(re.findall(r'st->state = g_strdup \("([a-z-]+)"\)', rest)), waiting


def check(dot_rel, steps, terminal):
    """steps: {step: {states}}; terminal: failure states drawn as nodes of their own"""
    nodes = dot_nodes(dot_rel)
    if not nodes:
        fail(f"{dot_rel}: no nodes found")
    for step, states in sorted(steps.items()):
        if step not in nodes:
            fail(f"{dot_rel}: step '{step}' written by the code has no node")
            continue
        for state in sorted(states):
            if not re.search(r"(^|[\s|(])" + re.escape(state) + r"($|[\s|·)])", nodes[step]):
                fail(f"{dot_rel}: node '{step}' does not name the state '{state}' the code writes with it")
    for state in sorted(terminal):
        if state not in nodes:
            fail(f"{dot_rel}: failure state '{state}' of the code has no node")
    for node in sorted(nodes):
        if node not in steps and node not in terminal:
            fail(f"{dot_rel}: node '{node}' is neither a step nor a failure state of the code")
    print(f"{dot_rel}: {len(nodes)} nodes checked against {len(steps)} steps and {len(terminal)} failure states")


# ---- the Aleph pipeline ----
pipeline_dir = os.path.join(SRC, "plugin", "pipeline")
pipeline = "".join(read(os.path.join("plugin", "pipeline", name))
                   for name in sorted(os.listdir(pipeline_dir))
                   if name.startswith("ac-pipeline") and name.endswith(".c"))
validate_states, waiting_states = reconcile_states()
steps = {"validate": validate_states}
for state, step in re.findall(r'\bac_pipeline_report \(&?p,\s*"([a-z-]+)",\s*"([a-z/-]+)",\s*\d+\)', pipeline):
    steps.setdefault(step, set()).add(state)
terminal = set()
# the first argument of report_failure: "failed", or cancelled ? "interrupted" : "failed"
for arg in re.findall(r'\bac_pipeline_report_failure \(\s*&?p,\s*(.*?),\s*(?:"[a-z/-]+"|step)\s*,', pipeline, re.S):
    terminal |= set(re.findall(r'"([a-z-]+)"', arg))
if len(steps) < 10 or not {"failed", "interrupted"} <= terminal:
    fail(f"plugin/pipeline/ac-pipeline*.c: found only steps {sorted(steps)} and failure states "
         f"{sorted(terminal)}; the patterns of this check no longer match the code")
# a flow waiting for a slot (of the pool, or a build's) is drawn at the build
steps.setdefault("build", set()).update(waiting_states)
check("docs/diagrams/pipeline.dot", steps, terminal)

# ---- the local SEV flow ----
local = "".join(read(os.path.join("plugin", "localsev", f))
                for f in sorted(os.listdir(os.path.join(SRC, "plugin", "localsev")))
                if f.startswith("ac-localsev-service") and f.endswith(".c"))
lsteps = {"validate": validate_states, "build": set(waiting_states)}
for state, step in re.findall(r'ac_localsev_service_status_new\s*\(\s*\w+,\s*"([a-z-]+)",\s*"([a-z/-]+)"\)', local):
    lsteps.setdefault(step, set()).add(state)
for step in re.findall(r'ac_localsev_service_fail\s*\(\s*\w+,\s*"([a-z/-]+)"', local):
    lsteps.setdefault(step, set())
lterminal = set(re.findall(r'ac_localsev_service_status_new\s*\(\s*current,\s*"([a-z-]+)",\s*step\)', local))
# a failure status whose state is then named otherwise (refused: the host cannot run it)
lterminal |= set(re.findall(r'\(\*status\)->state\s*=\s*g_strdup\s*\(\s*"([a-z-]+)"\s*\)', local))
if not {"build", "prepare", "attest"} <= set(lsteps) or "failed" not in lterminal:
    fail(f"plugin/localsev/ac-localsev-service*.c: found steps {sorted(lsteps)} and failure states "
         f"{sorted(lterminal)}; the patterns of this check no longer match the code")
check("docs/diagrams/localsev.dot", lsteps, lterminal)

if failures:
    print(f"{len(failures)} mismatch(es): update the diagram (or this check) with the code")
    sys.exit(1)
print("diagrams match the code")
