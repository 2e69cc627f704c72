"""Warming: importing what tasks import, so that later tasks inherit it.

Owns the queue of module names from warm requests, the decision per module (the allowlists, a
trial's verdict, the memory budget), the import itself under the runner's thread-pool sizes,
and what follows a warm-up: the task package settles again and idle slots are renewed.
"""

import gc
import json
import os
import platform
import select

from .ahead import renew_ahead
from .processes import resident_mib
from .slots import Slot, SlotFailed, hand_to_slot
from .state import TRIAL_REQUEST, log
from .trials import TRIAL_TIMEOUT_SECS, trial_import

MAX_WARM_NAMES = 64


# The runner sends the names of the modules tasks imported (allowed by the allowlists: user code
# got them through the import guard). Each is first imported by a throw-away child confined as a
# task is, under a filter that kills it at its first attempt to start a process or a thread; it
# reports whether the import worked and left no thread, no open descriptor and no changed signal
# handler behind, and how much memory it took. Only then does this process import it, within
# the memory budget (N8N_RUNNERS_WARM_MAX_MEMORY). Then the task package settles its modules
# again (children keep the allowed ones, the stash hands back the rest), the collector freezes
# what was loaded, and idle slots are replaced by new ones that inherit the modules. A module
# refused once is never tried again by this process.


def queue_warm(state, payload):
    try:
        names = json.loads(payload.decode("utf-8"))
    except ValueError:
        names = None
    if not isinstance(names, list):
        log("ignoring a malformed warm request")
        return
    for name in names[:MAX_WARM_NAMES]:
        if isinstance(name, str) and is_module_name(name) and name not in state.warm_pending:
            state.warm_pending.append(name)


def is_module_name(name):
    parts = name.split(".")
    # `__main__` modules run a program when imported.
    return len(name) <= 200 and all(part.isidentifier() for part in parts) and \
        "__main__" not in parts


def warm(state):
    """Warms the next pending module; once none is pending, settles what was warmed. One
    module per turn of the main loop, so fork requests are served in between."""
    if not state.uname_known:
        # platform.processor() runs `uname -p` once and caches the answer; many packages ask at
        # import (pandas does), which would count as starting a process in a trial.
        platform.processor()
        state.uname_known = True
    name = state.warm_pending.pop(0)
    warmed = warm_one(state, name)
    if warmed:
        state.warmed_unsettled.append(warmed)
    if state.warm_pending or not state.warmed_unsettled:
        return
    state.task_entry.settle_again()
    gc.freeze()
    renew_idle_slots(state)
    renew_ahead(state)
    log(f"warmed {', '.join(state.warmed_unsettled)}; {max(state.warm_budget_mib, 0):.0f} MiB "
        "of N8N_RUNNERS_WARM_MAX_MEMORY left")
    state.warmed_unsettled = []


def warm_one(state, name):
    """Tries name, then imports it here. Returns what to log, or None if it is not warmed."""
    if state.task_entry.already_loaded(name) or name in state.warm_refused:
        return None
    if not state.task_entry.allows(name):
        # Replies come from task processes, which a breached task controls.
        state.warm_refused.add(name)
        log(f"not warming {name}: the allowlists do not allow it")
        return None
    if state.warm_budget_mib <= 0:
        state.warm_refused.add(name)
        return None
    problem, needed = judge(trial(state, name))
    if not problem and needed > state.warm_budget_mib:
        problem = (f"it needs {needed:.0f} MiB, {state.warm_budget_mib:.0f} MiB left of "
                   "N8N_RUNNERS_WARM_MAX_MEMORY")
    if problem:
        state.warm_refused.add(name)
        log(f"not warming {name}: {problem}")
        return None
    before = resident_mib()
    try:
        with thread_pool_sizes(state):
            __import__(name)
    except Exception as exc:
        state.warm_refused.add(name)
        log(f"not warming {name}: {type(exc).__name__}: {exc}")
        return None
    grown = max(resident_mib() - before, 0.0)
    state.warm_budget_mib -= grown
    return f"{name} (+{grown:.1f} MiB)"


def judge(verdict):
    """(problem or None, MiB needed) from a trial's verdict, whatever shape it has."""
    if not isinstance(verdict, dict):
        return "the trial gave no verdict", 0.0
    problem = verdict.get("problem")
    if problem is not None:
        return str(problem)[:500], 0.0
    needed = verdict.get("mib")
    if type(needed) not in (int, float) or not 0 <= needed < float("inf"):
        return "the trial gave no verdict", 0.0
    return None, float(needed)


class thread_pool_sizes:
    """The runner's thread-pool sizes in the environment for a while (it may have been cleared
    for tasks); afterwards the environment is as it was."""

    def __init__(self, state):
        self.sizes = state.thread_env
        self.saved = {}

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in self.sizes}
        os.environ.update(self.sizes)

    def __exit__(self, *exc_info):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def renew_idle_slots(state):
    """Idle slots were forked before the warm-up: replaced by new ones; busy ones are closed
    when they finish (their generation is old)."""
    state.generation += 1
    count = len(state.idle_slots)
    for slot in state.idle_slots:
        slot.sock.close()
    state.idle_slots = []
    for _ in range(count):
        try:
            state.idle_slots.append(Slot(state))
        except SlotFailed as exc:
            log(f"no new sandbox slot after warming: {exc}")
            break


def trial(state, name):
    """The verdict of a trial import of name: {"mib": ...}, or {"problem": ...}."""
    if not state.sandbox.want["namespaces"]:
        return trial_import(state, name)
    try:
        slot = hand_to_slot(state, TRIAL_REQUEST + name.encode("utf-8"), [])
    except (OSError, SlotFailed) as exc:
        return {"problem": f"no sandbox slot for the trial: {exc}"}
    try:
        if not select.select([slot.sock], [], [], TRIAL_TIMEOUT_SECS)[0]:
            return {"problem": f"the trial import took over {TRIAL_TIMEOUT_SECS} s"}
        return json.loads(slot.sock.recv(64 * 1024).decode("utf-8") or "null")
    except (OSError, ValueError) as exc:
        return {"problem": f"the trial failed: {exc}"}
    finally:
        # Retired: it will be replaced once the module is warm.
        slot.sock.close()
