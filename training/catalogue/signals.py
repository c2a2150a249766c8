"""Events other areas react to, so the catalogue need not know about bookings.

Receivers run inside the sender's write transaction, so their changes commit or roll
back with it.
"""
from blinker import Namespace

_signals = Namespace()

#: sent with the locked CourseSession and `now` after it is cancelled
session_cancelled = _signals.signal("session-cancelled")
#: sent with the locked CourseSession and `now` after its capacity is raised
capacity_raised = _signals.signal("capacity-raised")
#: sent with the locked CourseSession, `now` and `changed` (a set of the names among "time",
#: "venue" and "online_link" that changed) after a coordinator reschedules or relocates it
session_changed = _signals.signal("session-changed")
