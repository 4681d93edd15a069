# What the os-ken test apps in this directory share: their notes, the lines that the
# Rust tests read back (regress/tests/common/osken.rs, OsKen::notes). osken-manager
# loads an app by its path with the app's directory on sys.path, so the apps import
# this module as a sibling; the name is one that nothing installed uses.
import json
import os


def note(line):
    """Append `line` to the file named by $SWITCHD_REGRESS_OSKEN_LOG, if it is set."""
    path = os.environ.get("SWITCHD_REGRESS_OSKEN_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def note_json(obj):
    """One note that is a JSON object, on one line."""
    note(json.dumps(obj))
