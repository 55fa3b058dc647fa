"""Text that is safe to print on a terminal.

Label names, run and job directory names, overrides and metric keys may come from a file
someone handed over; printed raw, an escape sequence in one could rewrite the screen,
retitle the window or hide a line. `printable` drops every control character but the line
break and the tab.
"""

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """`str(text)` without control characters (escape, bell, carriage return, C1 codes)."""
    return _CONTROL.sub("", str(text))
